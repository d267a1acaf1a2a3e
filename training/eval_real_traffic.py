"""`assist evaluate real-traffic`: the service's judgement on real customer turns, beside our
own test splits.

Every message goes through the service's own path (parse → classify, with its history), so
what is measured is what the sidebar shows. Real traffic: training/real_traffic.py (labels
ours, text read from ../shared; evaluation only). Own test splits: the held-out templates
of training/data/intents + traffic, and the held-out groups of the escalation data.
Writes training/reports/real_traffic.json.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import f1_score

from assist.config import Settings
from assist.errors import EmptyAfterNormalization
from assist.normalize import normalize_text
from assist.pipeline import AssistPipeline
from training import real_traffic
from training.data import REPORTS, escalation_examples, intent_examples


@dataclass(frozen=True)
class Judged:
    intent: str
    sentiment: str
    escalate: bool
    reasons: tuple[str, ...]


def judge(pipeline: AssistPipeline, text: str, history: list[str], context: str | None) -> Judged:
    try:
        message, past = pipeline.parse(text, history)
    except EmptyAfterNormalization:  # the service refuses it (422); an agent sees nothing
        return Judged("other", "neutral", False, ())
    u = pipeline.understand(message, past, context)
    assert u is not None
    return Judged(u.intent.intent, u.sentiment.label, u.escalation.decision == "escalate",
                  tuple(r.code for r in u.escalation.reasons))


def _intent_scores(gold: list[str], pred: list[str]) -> dict[str, float]:
    labels = sorted(set(gold))
    return {"macro_f1": round(float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 4),
            "accuracy": round(sum(g == p for g, p in zip(gold, pred)) / max(len(gold), 1), 4), "n": len(gold)}


def _escalation_scores(gold: list[bool], pred: list[bool]) -> dict[str, float]:
    tp = sum(g and p for g, p in zip(gold, pred))
    return {"recall": round(tp / max(sum(gold), 1), 4), "precision": round(tp / max(sum(pred), 1), 4),
            "raised": sum(pred), "true": sum(gold), "n": len(gold)}


def _per_class(gold: list[str], pred: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for label in sorted(set(gold) | set(pred)):
        tp = sum(g == p == label for g, p in zip(gold, pred))
        n_gold, n_pred = gold.count(label), pred.count(label)
        prec, rec = tp / n_pred if n_pred else 0.0, tp / n_gold if n_gold else 0.0
        out[label] = {"precision": round(prec, 3), "recall": round(rec, 3),
                      "f1": round(2 * prec * rec / (prec + rec), 3) if prec + rec else 0.0, "support": n_gold}
    return out


def training_overlap(turns: list[real_traffic.RealTurn]) -> dict[str, int]:
    """Real turns whose normalized text is also a training message: short acknowledgements
    (好的, 谢谢) are bound to be; a longer one would mean copied text."""
    train = {normalize_text(e.text) for e in intent_examples() + escalation_examples()}
    same = [t for t in turns if normalize_text(t.text) in train]
    return {"same_text": len(same), "same_text_8_chars_or_more": sum(len(normalize_text(t.text)) >= 8 for t in same)}


def judge_all(pipeline: AssistPipeline, turns: list[real_traffic.RealTurn]) -> list[Judged]:
    return [judge(pipeline, t.text, list(t.history), t.context) for t in turns]


def evaluate_real(pipeline: AssistPipeline, files: tuple[Path, ...] = real_traffic.FILES) -> dict:  # type: ignore[type-arg]
    turns = real_traffic.load(files)
    judged = judge_all(pipeline, turns)
    clear = [i for i, t in enumerate(turns) if not t.ambiguous]
    gold_i, pred_i = [t.intent for t in turns], [j.intent for j in judged]
    false_esc = Counter(r for t, j in zip(turns, judged) if j.escalate and not t.escalate for r in j.reasons)
    confusions = Counter((g, p) for g, p in zip(gold_i, pred_i) if g != p)
    return {
        "n": len(turns), "n_unambiguous": len(clear), "training_overlap": training_overlap(turns),
        "intent": _intent_scores(gold_i, pred_i),
        "intent_unambiguous": _intent_scores([gold_i[i] for i in clear], [pred_i[i] for i in clear]),
        "intent_per_class_unambiguous": _per_class([gold_i[i] for i in clear], [pred_i[i] for i in clear]),
        "sentiment_accuracy": round(sum(t.sentiment == j.sentiment for t, j in zip(turns, judged)) / len(turns), 4),
        "sentiment_confusions": {f"{a}->{b}": n for (a, b), n in Counter(
            (t.sentiment, j.sentiment) for t, j in zip(turns, judged) if t.sentiment != j.sentiment).most_common()},
        "escalation": _escalation_scores([t.escalate for t in turns], [j.escalate for j in judged]),
        "false_escalation_reasons": dict(false_esc.most_common()),
        "top_intent_confusions": [{"gold": g, "predicted": p, "n": n} for (g, p), n in confusions.most_common(15)],
        "by_source": {
            src: {"intent_unambiguous": _intent_scores([gold_i[i] for i in clear if turns[i].source == src],
                                                       [pred_i[i] for i in clear if turns[i].source == src]),
                  "escalation": _escalation_scores([t.escalate for t in turns if t.source == src],
                                                   [j.escalate for t, j in zip(turns, judged) if t.source == src])}
            for src in sorted({t.source for t in turns})},
    }


def evaluate_own(pipeline: AssistPipeline) -> dict:  # type: ignore[type-arg]
    test = [e for e in intent_examples() if e.split == "test"]
    judged = [judge(pipeline, e.text, list(e.history), e.context) for e in test]
    esc = [e for e in escalation_examples() if e.split == "test"]
    esc_judged = [judge(pipeline, e.text, list(e.history), e.history[-1] if e.history else None) for e in esc]
    return {
        "intent": _intent_scores([e.label for e in test], [j.intent for j in judged]),
        "sentiment_accuracy": round(sum(e.sentiment == j.sentiment for e, j in zip(test, judged)) / len(test), 4),
        "escalation": _escalation_scores([e.label == "escalate" for e in esc], [j.escalate for j in esc_judged]),
    }


def table(report: dict) -> str:  # type: ignore[type-arg]
    r, d, o = report["real_traffic"], report["real_traffic_dev"], report["own_test_split"]

    def esc(m: dict) -> str:  # type: ignore[type-arg]
        return f"{m['escalation']['raised']} / {m['escalation']['true']}"

    rows = [
        ("intent macro-F1 (all turns)", r["intent"]["macro_f1"], d["intent"]["macro_f1"], o["intent"]["macro_f1"], ""),
        ("intent macro-F1 (unambiguous)", r["intent_unambiguous"]["macro_f1"], d["intent_unambiguous"]["macro_f1"],
         "", "≥ 0.85"),
        ("intent accuracy (unambiguous)", r["intent_unambiguous"]["accuracy"], d["intent_unambiguous"]["accuracy"],
         o["intent"]["accuracy"], ""),
        ("escalation recall", r["escalation"]["recall"], d["escalation"]["recall"], o["escalation"]["recall"], "≥ 0.90"),
        ("escalation precision", r["escalation"]["precision"], d["escalation"]["precision"],
         o["escalation"]["precision"], "≥ 0.70"),
        ("escalations raised / true", esc(r), esc(d), esc(o), ""),
        ("sentiment accuracy (3 classes)", r["sentiment_accuracy"], d["sentiment_accuracy"], o["sentiment_accuracy"],
         "≥ 0.85"),
    ]
    head = (f"real traffic (test): {r['n']} turns ({r['n_unambiguous']} unambiguous) | real traffic (dev): "
            f"{d['n']} ({d['n_unambiguous']}) | own test split: {o['intent']['n']} intent messages, "
            f"{o['escalation']['n']} escalation turns\n")
    lines = [f"{'metric':<34}{'real test':>12}{'real dev':>12}{'own test':>12}{'target':>10}"]
    lines += ["".join([f"{row[0]:<34}", *(f"{v:>12.3f}" if isinstance(v, float) else f"{v:>12}" for v in row[1:4]),
                       f"{row[4]:>10}"]) for row in rows]
    return head + "\n".join(lines)


def run(*, settings: Settings) -> str:
    pipeline = AssistPipeline.load(settings)
    report = {"command": "assist evaluate real-traffic", "versions": pipeline.versions,
              "real_traffic": evaluate_real(pipeline),
              "real_traffic_dev": evaluate_real(pipeline, real_traffic.DEV_FILES),
              "own_test_split": evaluate_own(pipeline)}
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "real_traffic.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return table(report)


def print_errors(settings: Settings) -> None:
    """The dev set's mistakes with their text, for error analysis on this machine only (the
    text is not ours to keep: never paste it into the repository)."""
    pipeline = AssistPipeline.load(settings)
    turns = real_traffic.load(real_traffic.DEV_FILES)
    for t, j in zip(turns, judge_all(pipeline, turns)):
        wrong = [k for k, a, b in (("intent", t.intent, j.intent), ("sentiment", t.sentiment, j.sentiment),
                                   ("escalate", t.escalate, j.escalate)) if a != b and not (k == "intent" and t.ambiguous)]
        if wrong:
            print(json.dumps({"id": t.id, "wrong": wrong, "gold": [t.intent, t.sentiment, t.escalate],
                              "pred": [j.intent, j.sentiment, j.escalate, list(j.reasons)], "text": t.text,
                              "before": t.context, "history": list(t.history[-3:])}, ensure_ascii=False))


if __name__ == "__main__":  # python -m training.eval_real_traffic: the dev set's errors
    print_errors(Settings())
