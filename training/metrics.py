"""Metrics and plain-text tables for evaluation reports."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE: |accuracy − confidence| averaged over equal-width confidence bins."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def classification_summary(y_true: list[str], y_pred: list[str], proba: np.ndarray, labels: list[str]) -> dict:  # type: ignore[type-arg]
    report = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    conf = proba.max(axis=1)
    correct = np.array([t == p for t, p in zip(y_true, y_pred)])
    return {
        "n": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "ece": round(expected_calibration_error(conf, correct), 4),
        "per_class": {l: {k: round(float(report[l][k]), 4) for k in ("precision", "recall", "f1-score", "support")}
                      for l in labels},
        "labels": labels,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def format_table(summary: dict, title: str) -> str:  # type: ignore[type-arg]
    lines = [f"== {title} ==", f"n={summary['n']}  accuracy={summary['accuracy']:.4f}  "
             f"macro-F1={summary['macro_f1']:.4f}  ECE={summary['ece']:.4f}", "",
             f"{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for label, m in summary["per_class"].items():
        lines.append(f"{label:<20}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1-score']:>10.3f}{int(m['support']):>9}")
    labels = summary["labels"]
    short = [l[:6] for l in labels]
    lines += ["", "confusion matrix (rows = true, columns = predicted):", " " * 20 + "".join(f"{s:>7}" for s in short)]
    for label, row in zip(labels, summary["confusion_matrix"]):
        lines.append(f"{label:<20}" + "".join(f"{v:>7}" for v in row))
    return "\n".join(lines)
