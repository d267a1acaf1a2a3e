"""The learned ranker: orders retrieved FAQ entries and says how likely each is the answer.

A LightGBM LambdaRank model over features of each candidate (BM25 and dense scores and
ranks, similarity to the entry's title, the intent model's probability for the entry's
intent — a feature, not a fixed bonus — and entry priors), and an isotonic calibration of
its top score into P(the top entry answers the question), fitted on a dev set of new
questions that includes questions no entry answers. The widget answers only above the
calibrated threshold and a top-2 margin, both chosen on that set, and never when the best phrasing's
cosine is under the floor that right answers stay above on that set; all kept in the model's
folder. Features do not depend on the shop, so one model serves any knowledge base.

Trained by `assist train ranker` (training/ranker.py); models/ranker/ holds model.txt
(LightGBM's own text format, no pickle), calibration.json, thresholds.json, manifest.json.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assist.artifacts import read_manifest
from assist.errors import ArtifactError, Incompatible
from assist.normalize import Message
from assist.types import Hit

FEATURES: tuple[str, ...] = (
    "fused", "fused_share", "position", "lexical", "lexical_share", "lexical_rank", "dense", "dense_gap",
    "dense_rank", "title_sim", "title_gap", "answer_sim", "answer_gap", "intent_p", "intent_is_top", "intent_top_p", "n_texts", "query_chars",
)
MISSING_RANK = 60  # rank given to a candidate one retriever did not return


def features(message: Message, hits: Sequence[Hit], intent_probs: dict[str, float]) -> np.ndarray:
    """One row of FEATURES per candidate hit (hits in fused order)."""
    if not hits:
        return np.zeros((0, len(FEATURES)))
    best_fused = max(h.score for h in hits) or 1.0
    best_lex = max(h.lexical_score for h in hits)
    best_sim = max(h.similarity for h in hits)
    best_title = max(h.title_similarity for h in hits)
    best_answer = max(h.answer_similarity for h in hits)
    top_intent = max(intent_probs, key=intent_probs.__getitem__) if intent_probs else None
    top_p = intent_probs.get(top_intent, 0.0) if top_intent else 0.0
    rows = []
    for i, h in enumerate(hits):
        intent = h.entry.intent or ""
        rows.append([
            h.score, h.score / best_fused, i,
            h.lexical_score, h.lexical_score / best_lex if best_lex > 0 else 0.0,
            min(h.lexical_rank or MISSING_RANK, MISSING_RANK),
            h.similarity, best_sim - h.similarity, min(h.dense_rank or MISSING_RANK, MISSING_RANK),
            h.title_similarity, best_title - h.title_similarity,
            h.answer_similarity, best_answer - h.answer_similarity,
            intent_probs.get(intent, 0.0), 1.0 if intent and intent == top_intent else 0.0, top_p,
            len(h.entry.texts), len(message.canonical),
        ])
    return np.asarray(rows, dtype=np.float64)


@dataclass(frozen=True)
class RankedHit:
    hit: Hit
    raw: float          # the ranker's score (orders candidates of one query)
    confidence: float   # calibrated P(this entry answers the question)


class LearnedRanker:
    def __init__(self, *, booster: object, calibration_x: np.ndarray, calibration_y: np.ndarray,
                 answer_threshold: float, min_margin: float, min_similarity: float = 0.0, version: str = ""):
        self.booster = booster
        self.calibration_x = calibration_x
        self.calibration_y = calibration_y
        self.answer_threshold = answer_threshold
        self.min_margin = min_margin
        self.min_similarity = min_similarity
        self.version = version

    def raw_scores(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(X, raw_score=True, num_threads=1), dtype=np.float64)  # type: ignore[attr-defined]

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return np.interp(raw, self.calibration_x, self.calibration_y)

    def rank(self, message: Message, hits: Sequence[Hit], intent_probs: dict[str, float]) -> list[RankedHit]:
        """The hits re-ordered by the ranker, best first, with calibrated confidence."""
        raw = self.raw_scores(features(message, hits, intent_probs))
        conf = self.calibrate(raw)
        order = sorted(range(len(hits)), key=lambda i: (-raw[i], hits[i].entry.id))
        return [RankedHit(hit=hits[i], raw=float(raw[i]), confidence=float(conf[i])) for i in order]

    def margin(self, ranked: Sequence[RankedHit]) -> float:
        """Raw-score gap between the first and second candidate (large when no rival)."""
        if not ranked:
            return 0.0
        return ranked[0].raw - ranked[1].raw if len(ranked) > 1 else float("inf")

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        (folder / "model.txt").write_text(self.booster.model_to_string(), encoding="utf-8")  # type: ignore[attr-defined]
        (folder / "calibration.json").write_text(json.dumps(
            {"x": self.calibration_x.tolist(), "y": self.calibration_y.tolist()}), encoding="utf-8")
        (folder / "thresholds.json").write_text(json.dumps(
            {"answer_threshold": self.answer_threshold, "min_margin": self.min_margin,
             "min_similarity": self.min_similarity}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, *, embedding_version: str | None = None,
             intent_labels: list[str] | None = None) -> "LearnedRanker":
        """A ranker reads the intent model's probability of each entry's intent: it works with
        any intent model of the same labels (a retrained one included; the promotion gate
        measures ranking with it), not only the one it was trained beside."""
        import lightgbm as lgb

        folder = Path(folder)
        if not (folder / "model.txt").exists():
            raise ArtifactError(f"no ranker at {folder}; train it with `assist train ranker`")
        manifest = read_manifest(folder)
        if manifest.get("features") != list(FEATURES):
            raise Incompatible(f"{folder}: ranker features {manifest.get('features')} differ from this "
                               "version's; retrain it with `assist train ranker`")
        for key, have in (("embedding_version", embedding_version), ("intent_labels", intent_labels)):
            if have is not None and manifest.get(key) and manifest[key] != have:
                raise Incompatible(f"{folder}: ranker was trained with {key} {manifest[key]}, the service has "
                                   f"{have}; retrain it with `assist train ranker`")
        cal = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
        t = json.loads((folder / "thresholds.json").read_text(encoding="utf-8"))
        booster = lgb.Booster(model_str=(folder / "model.txt").read_text(encoding="utf-8"))
        return cls(booster=booster, calibration_x=np.asarray(cal["x"], dtype=np.float64),
                   calibration_y=np.asarray(cal["y"], dtype=np.float64), answer_threshold=float(t["answer_threshold"]),
                   min_margin=float(t["min_margin"]), min_similarity=float(t.get("min_similarity", 0.0)),
                   version=manifest["version"])
