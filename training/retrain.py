"""`assist retrain intent|sentiment|escalation|ranker`: a challenger trained on the shipped data
plus what ops gave (agents' corrections from the feedback, imported sets), measured beside the
champion on the same fixed sets, and put in service only when the promotion gate
(assist/ops/gate.py) says so.

The challenger keeps the champion's recipe (its manifest's params: C, feature weights,
abstain threshold); choosing a recipe is `assist train`'s grid search. Fixed sets: the
template test split, the real-traffic dev set (when ../shared is there) and the held-out
slice of the feedback. Primary metric: accuracy on that slice once it has min_holdout
corrections (what ops asked for), else macro-F1 on the template test split."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from tqdm import tqdm

from assist.artifacts import read_manifest
from assist.classify.models import EscalationModel, IntentModel, SentimentModel, build_turns
from assist.config import Settings
from assist.errors import InvalidInput
from assist.normalize import normalize_text
from assist.ops import gate, learning, registry
from assist.ops.registry import Destination
from assist.pipeline import RANK_CANDIDATES, AssistPipeline
from assist.rank.learned import LearnedRanker
from training import ranker, real_traffic
from training.classifiers import (
    _Ctx,
    _eval_intent,
    _eval_sentiment,
    escalation_fingerprint,
    escalation_inputs,
    eval_escalation,
    fit_escalation,
    fit_intent,
    fit_sentiment,
    intent_fingerprint,
    intent_train_examples,
    model_version,
    save_escalation,
    save_intent,
    save_sentiment,
    sentiment_fingerprint,
    training_escalation_rows,
)
from training.data import Example
from training.eval_real_traffic import evaluate_real
from training.metrics import expected_calibration_error


@dataclass(frozen=True)
class Retrained:
    name: str
    champion: str
    challenger: str
    decision: gate.Decision
    data: dict[str, int]

    def report(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.data.items())
        return f"retrain {self.name} (learned from: {counts})\n" + self.decision.table(self.champion, self.challenger)


def _examples(rows: list[learning.Labelled], split: str) -> list[Example]:
    return [Example(text=r.text, label=r.label, group=f"{r.source}:{r.key}", history=r.history,
                    source=r.source, split=split) for r in rows if normalize_text(r.text)]


def _real_dev() -> list[Example]:
    """The real-traffic dev set's unambiguous turns; empty when ../shared is not there."""
    try:
        turns = real_traffic.load(real_traffic.DEV_FILES)
    except FileNotFoundError:
        return []
    return [Example(text=t.text, label=t.intent, group=t.id, history=t.history, context=t.context, split="test")
            for t in turns if not t.ambiguous and normalize_text(t.text)]


def _p50_ms(predict: Callable[[Any], object], items: list[Any]) -> float:
    """p50 of one item's prediction (one message per call, as the service predicts per request)."""
    times = []
    for item in items:
        t0 = time.perf_counter()
        predict(item)
        times.append((time.perf_counter() - t0) * 1000)
    return round(float(np.median(times)), 4)


def _latency_texts(ctx: _Ctx, n: int = 200) -> list[str]:
    """The messages a model's latency is timed on: the template test split's first n."""
    return [e.text for e in intent_train_examples(ctx)[1][:n]]


def _latency_ms(ctx: _Ctx, model: IntentModel, rows: list[Example], n: int = 200) -> float:
    return _p50_ms(lambda m: model.proba([m]), ctx.parse([e.text for e in rows[:n]]))


def _latency(name: str, champion: float | None, challenger: float | None, settings: Settings) -> gate.Metric:
    """A latency guard: the challenger may be slower by latency_tolerance of the champion's time."""
    return gate.Metric(name, champion, challenger, higher_is_better=False,
                       tolerance=round((champion or 0.0) * settings.retrain.latency_tolerance, 3))


def _measure(ctx: _Ctx, model: IntentModel, sets: dict[str, list[Example]]) -> dict[str, dict]:  # type: ignore[type-arg]
    return {name: _eval_intent(ctx, model, rows) for name, rows in sets.items() if rows}


def intent_metrics(settings: Settings, champ: dict, chall: dict,  # type: ignore[type-arg]
                   lat: tuple[float, float], n_holdout: int) -> list[gate.Metric]:
    r = settings.retrain

    def pair(set_name: str, key: str) -> tuple[float | None, float | None]:
        return champ.get(set_name, {}).get(key), chall.get(set_name, {}).get(key)

    on_holdout = n_holdout >= r.min_holdout
    m = [gate.Metric("held-out feedback: intent accuracy", *pair("holdout", "accuracy"),
                     role="primary" if on_holdout else "info"),
         gate.Metric("template test: macro-F1", *pair("template", "macro_f1"),
                     role="guard" if on_holdout else "primary", tolerance=r.tolerance),
         gate.Metric("template test: calibration error (ECE)", *pair("template", "ece"), higher_is_better=False,
                     tolerance=r.ece_tolerance),
         gate.Metric("real-traffic dev: macro-F1 (unambiguous)", *pair("real_dev", "macro_f1"), tolerance=r.tolerance),
         gate.Metric("real-traffic dev: accuracy", *pair("real_dev", "accuracy"), tolerance=r.tolerance),
         _latency("model latency p50 per message (ms)", lat[0], lat[1], settings)]
    for label in champ["template"]["labels"]:
        m.append(gate.Metric(f"template test F1: {label}", champ["template"]["per_class"][label]["f1-score"],
                             chall["template"]["per_class"][label]["f1-score"], role="info"))
    return m


def nothing_to_learn(what: str) -> InvalidInput:
    return InvalidInput(f"nothing new to learn from: no corrected or confirmed {what} in the feedback (outside the "
                        "held-out slice) and no imported sets (`assist data import FILE`)")


def _new_version(name: str, champion: str, fingerprint: str, params: dict[str, Any], steps: tqdm) -> str:  # type: ignore[type-arg]
    """The challenger's version, known before any training: the same data and recipe as the
    model in service is nothing to retrain."""
    version = model_version(fingerprint, params)
    if version == champion:
        steps.close()
        raise InvalidInput(f"{name} {version} in service was trained on this same data: nothing to retrain")
    return version


def _conclude(result: Retrained, root: Path, promote: bool, steps: tqdm,  # type: ignore[type-arg]
              save: Callable[[dict[str, Any]], object]) -> Retrained:
    """Keep the challenger as a version with the gate's decision; promote it if the gate says so."""
    record = {"gate": result.decision.as_dict(), "champion": result.champion, "learned_from": result.data}
    save(record)
    registry.write_gate(root / result.challenger, {**result.decision.as_dict(), "champion": result.champion,
                                                   "learned_from": result.data})
    if result.decision.promote and promote:
        registry.promote(root, result.challenger)
    steps.update()
    steps.close()
    return result


def _begin(settings: Settings, engine: Engine, name: str, labels: str
           ) -> tuple[tqdm, Path, Path, dict[str, Any], learning.LearningData]:  # type: ignore[type-arg]
    """(progress bar, the model's folder, the champion's folder, its recipe, what to learn from)."""
    steps = tqdm(total=5, desc=f"retrain {name}", unit="step")
    root = settings.model_root(name)
    champion_dir = registry.resolve(root)
    steps.set_postfix_str("gathering feedback and imported sets")
    data = learning.gather(engine, settings.paths.data_dir, what=name, holdout_share=settings.retrain.holdout_share)
    if not data.train:
        steps.close()
        raise nothing_to_learn(labels)
    return steps, root, champion_dir, read_manifest(champion_dir)["params"], data


def retrain_intent(settings: Settings, engine: Engine, *, promote: bool = True) -> Retrained:
    steps, root, champion_dir, params, data = _begin(settings, engine, "intent", "intents")
    champion = IntentModel.load(champion_dir)
    ctx = _Ctx(settings)
    fingerprint = f"{intent_fingerprint(ctx)}+{data.digest()}"
    version = _new_version("intent", champion.version, fingerprint, params, steps)
    shipped, template_test = intent_train_examples(ctx)
    extra = _examples(data.train, "train")
    steps.update()

    steps.set_postfix_str(f"fitting on {len(shipped)} shipped + {len(extra)} new messages")
    weights = np.concatenate([np.ones(len(shipped)), np.full(len(extra), settings.retrain.feedback_weight)])
    challenger = fit_intent(ctx, shipped + extra, params, weights)
    steps.update()

    sets = {"template": template_test, "real_dev": _real_dev(), "holdout": _examples(data.holdout, "test")}
    steps.set_postfix_str("measuring the champion")
    champ = _measure(ctx, champion, sets)
    steps.update()
    steps.set_postfix_str("measuring the challenger")
    chall = _measure(ctx, challenger, sets)
    lat = (_latency_ms(ctx, champion, template_test), _latency_ms(ctx, challenger, template_test))
    steps.update()

    decision = gate.decide(intent_metrics(settings, champ, chall, lat, len(sets["holdout"])))
    metrics = {"test": chall["template"], "accuracy": chall["template"]["accuracy"],
               "macro_f1": chall["template"]["macro_f1"], "ece": chall["template"]["ece"]}
    result = Retrained("intent", champion.version, version, decision, data.counts())
    return _conclude(result, root, promote, steps, lambda m: save_intent(
        ctx, Destination(root), challenger, params=params, metrics={**metrics, **m}, fingerprint=fingerprint,
        summary=chall["template"]))


def _f1(recall: float | None, precision: float | None) -> float | None:
    if recall is None or precision is None:
        return None
    return round(2 * recall * precision / (recall + precision), 4) if recall + precision else 0.0


def _pairs(champ: dict[str, float | None], chall: dict[str, float | None]) -> Callable[..., gate.Metric]:
    """metric(name, key, **rule): the gate's row for one figure of both measurements."""
    return lambda name, key, **kw: gate.Metric(name, champ.get(key), chall.get(key), **kw)


# --- sentiment ----------------------------------------------------------------------------

def _sentiment_measures(ctx: _Ctx, pipeline: AssistPipeline, model: SentimentModel,
                        holdout: list[learning.Labelled], real_dev: bool) -> tuple[dict[str, float | None], dict[str, Any]]:
    """`model` on the sentiment sets, and the escalation model in service reading it (its
    probabilities are escalation features, so a new sentiment model moves escalation too):
    the figures for the gate, and the full sentiment report (for the manifest)."""
    assert pipeline.understander is not None
    pipeline.understander.sentiment = model
    report = _eval_sentiment(ctx, model)
    own = report["own_test"]
    esc = eval_escalation(ctx, model, pipeline.understander.escalation)
    out: dict[str, float | None] = {
        "own_accuracy": own["accuracy"], "own_macro_f1": own["macro_f1"], "own_ece": own["ece"],
        "reviews_accuracy": report.get("online_shopping_10_cats_test_accuracy"),
        "intensity_mae": report["intensity_test_mae"],
        "esc_own_f1": _f1(esc["escalate_recall"], esc["escalate_precision"])}
    if real_dev:
        real = evaluate_real(pipeline, real_traffic.DEV_FILES)
        out.update(real_accuracy=real["sentiment_accuracy"],
                   esc_real_f1=_f1(real["escalation"]["recall"], real["escalation"]["precision"]))
    predicted = model.predict_many(ctx.features([r.text for r in holdout])[0]) if holdout else []
    out["holdout_accuracy"] = (round(sum(p.label == r.label for p, r in zip(predicted, holdout)) / len(holdout), 4)
                               if holdout else None)
    out["latency_ms"] = _p50_ms(lambda t: model.predict_many([t]), ctx.features(_latency_texts(ctx))[0])
    return out, report


def sentiment_metrics(settings: Settings, champ: dict[str, float | None], chall: dict[str, float | None],
                      n_holdout: int) -> list[gate.Metric]:
    r = settings.retrain
    on_holdout = n_holdout >= r.min_holdout
    m = _pairs(champ, chall)
    return [m("held-out feedback: sentiment accuracy", "holdout_accuracy", role="primary" if on_holdout else "info"),
            m("own test split: accuracy (3 classes)", "own_accuracy", role="guard" if on_holdout else "primary",
              tolerance=r.tolerance),
            m("own test split: macro-F1", "own_macro_f1", tolerance=r.tolerance),
            m("own test split: calibration error (ECE)", "own_ece", higher_is_better=False, tolerance=r.ece_tolerance),
            m("real-traffic dev: sentiment accuracy", "real_accuracy", tolerance=r.tolerance),
            m("shopping reviews test: accuracy (binary)", "reviews_accuracy", tolerance=r.tolerance),
            m("escalation in service, own test split: F1", "esc_own_f1", tolerance=r.tolerance),
            m("escalation in service, real-traffic dev: F1", "esc_real_f1", tolerance=r.small_set_tolerance),
            m("intensity MAE (escalation test split)", "intensity_mae", role="info", higher_is_better=False),
            _latency("model latency p50 per message (ms)", champ.get("latency_ms"), chall.get("latency_ms"), settings)]


def retrain_sentiment(settings: Settings, engine: Engine, *, promote: bool = True) -> Retrained:
    steps, root, champion_dir, params, data = _begin(settings, engine, "sentiment", "sentiments")
    champion = SentimentModel.load(champion_dir)
    ctx = _Ctx(settings)
    fingerprint = f"{sentiment_fingerprint()}+{data.digest()}"
    version = _new_version("sentiment", champion.version, fingerprint, params, steps)
    extra = _examples(data.train, "train")
    steps.update()

    steps.set_postfix_str(f"fitting on the shipped data + {len(extra)} new messages")
    challenger = fit_sentiment(ctx, extra, settings.retrain.feedback_weight)
    steps.update()

    pipeline = AssistPipeline.load(settings)
    real_dev = bool(_real_dev())
    steps.set_postfix_str("measuring the champion")
    champ, _ = _sentiment_measures(ctx, pipeline, champion, data.holdout, real_dev)
    steps.update()
    steps.set_postfix_str("measuring the challenger")
    chall, report = _sentiment_measures(ctx, pipeline, challenger, data.holdout, real_dev)
    steps.update()

    decision = gate.decide(sentiment_metrics(settings, champ, chall, len(data.holdout)))
    result = Retrained("sentiment", champion.version, version, decision, data.counts())
    return _conclude(result, root, promote, steps, lambda m: save_sentiment(
        Destination(root), challenger, metrics={**report, **m}, fingerprint=fingerprint, params=params))


# --- escalation ---------------------------------------------------------------------------

def _escalation_measures(ctx: _Ctx, pipeline: AssistPipeline, sentiment: SentimentModel, model: EscalationModel,
                         holdout: list[learning.Labelled], real_dev: bool
                         ) -> tuple[dict[str, float | None], dict[str, Any]]:
    """The model in the service's own path (signals, evidence rule) on each fixed set; and its
    full report on the own test split (for its manifest)."""
    assert pipeline.understander is not None
    pipeline.understander.escalation = model
    own = eval_escalation(ctx, sentiment, model)
    out: dict[str, float | None] = {
        "own_recall": own["escalate_recall"], "own_precision": own["escalate_precision"],
        "own_f1": _f1(own["escalate_recall"], own["escalate_precision"]), "own_ece": own["escalate_ece"]}
    if real_dev:
        real = evaluate_real(pipeline, real_traffic.DEV_FILES)["escalation"]
        out.update(real_recall=real["recall"], real_precision=real["precision"],
                   real_f1=_f1(real["recall"], real["precision"]))
    right = 0
    for r in holdout:
        message, past = pipeline.parse(r.text, list(r.history))
        u = pipeline.understand(message, past, None)
        right += (u is not None and u.escalation.decision == "escalate") == (r.label == "escalate")
    out["holdout_accuracy"] = round(right / len(holdout), 4) if holdout else None
    turns = build_turns(ctx.parse(_latency_texts(ctx)), ctx.lexicon, sentiment)
    out["latency_ms"] = _p50_ms(lambda t: model.probabilities(t, []), turns)
    return out, own


def escalation_metrics(settings: Settings, champ: dict[str, float | None], chall: dict[str, float | None],
                       n_holdout: int) -> list[gate.Metric]:
    r = settings.retrain
    on_holdout = n_holdout >= r.min_holdout

    m = _pairs(champ, chall)
    return [m("held-out feedback: escalate or not, accuracy", "holdout_accuracy",
              role="primary" if on_holdout else "info"),
            m("own test split: escalate F1", "own_f1", role="guard" if on_holdout else "primary",
              tolerance=r.tolerance),
            m("own test split: escalate recall", "own_recall", tolerance=r.tolerance),
            m("own test split: escalate precision", "own_precision", tolerance=r.tolerance),
            m("own test split: calibration error (ECE)", "own_ece", higher_is_better=False, tolerance=r.ece_tolerance),
            m("real-traffic dev: escalate F1", "real_f1", tolerance=r.small_set_tolerance),
            m("real-traffic dev: escalate recall", "real_recall", role="info"),
            m("real-traffic dev: escalate precision", "real_precision", role="info"),
            _latency("model latency p50 per turn (ms)", champ.get("latency_ms"), chall.get("latency_ms"), settings)]


def retrain_escalation(settings: Settings, engine: Engine, *, promote: bool = True) -> Retrained:
    steps, root, champion_dir, params, data = _begin(settings, engine, "escalation", "escalation decisions")
    champion = EscalationModel.load(champion_dir)
    ctx = _Ctx(settings)
    sentiment = SentimentModel.load(settings.model_path("sentiment"))
    fingerprint = f"{escalation_fingerprint(ctx, sentiment)}+{data.digest()}"
    version = _new_version("escalation", champion.version, fingerprint, params, steps)
    shipped = training_escalation_rows()
    extra = _examples(data.train, "train")
    steps.update()

    steps.set_postfix_str(f"fitting on {len(shipped)} shipped + {len(extra)} new turns")
    texts, feats, _ = escalation_inputs(ctx, sentiment, shipped + extra)
    weights = np.concatenate([np.ones(len(shipped)), np.full(len(extra), settings.retrain.feedback_weight)])
    challenger = fit_escalation(texts, feats, [e.label for e in shipped + extra], params, weights)
    steps.update()

    pipeline = AssistPipeline.load(settings)
    real_dev = bool(_real_dev())
    steps.set_postfix_str("measuring the champion")
    champ, _ = _escalation_measures(ctx, pipeline, sentiment, champion, data.holdout, real_dev)
    steps.update()
    steps.set_postfix_str("measuring the challenger")
    chall, metrics = _escalation_measures(ctx, pipeline, sentiment, challenger, data.holdout, real_dev)
    steps.update()

    decision = gate.decide(escalation_metrics(settings, champ, chall, len(data.holdout)))
    result = Retrained("escalation", champion.version, version, decision, data.counts())
    return _conclude(result, root, promote, steps, lambda m: save_escalation(
        ctx, Destination(root), challenger, params=params, metrics={**metrics, **m}, fingerprint=fingerprint))



# --- ranker -------------------------------------------------------------------------------

def _feedback_queries(pipeline: AssistPipeline, rows: list[learning.Labelled], weight: float) -> list[ranker.Query]:
    """A right pair trains like a held-out phrasing (its entry is the one relevant candidate);
    a wrong pair only says that entry is wrong, so only that candidate's row trains. Grouped by
    the entry, so cross-validation never scores a question with a booster that saw it."""
    assert pipeline.understander is not None
    rows = [r for r in rows if r.label in pipeline.kb.faqs and normalize_text(r.text)]
    queries = [ranker.Query(text=r.text, gold=frozenset([r.label]) if r.source == "right" else frozenset(),
                            group=r.label, kind="feedback", weight=weight) for r in rows]  # with its entry, in CV
    ranker._candidates(pipeline, pipeline.index, queries, pipeline.understander.intent)
    out = []
    for q, r in zip(queries, rows):
        if r.source == "wrong":
            if r.label not in q.ids:
                continue
            keep = q.ids.index(r.label)
            assert q.X is not None
            q.X, q.ids = q.X[[keep]], [r.label]
        out.append(q)
    return out


def _ranker_measures(pipeline: AssistPipeline, model: LearnedRanker, holdout: list[learning.Labelled]
                     ) -> dict[str, float | None]:
    """The widget's path with `model`: shopper-voice questions (R@1, MRR, answered share and
    precision, how well the answer confidence is calibrated, p50 time of the whole /v1/faq
    path), out-of-scope questions answered, and held-out feedback pairs kept right (a
    right entry first, a wrong one not first)."""
    pipeline.ranker = model
    ranks, answered, right, conf, top_right, times = [], 0, 0, [], [], []
    questions = ranker._read_jsonl(ranker.EVAL / "shopper_questions.jsonl")
    for q in questions:
        t0 = time.perf_counter()
        result = pipeline.faq(q["query"], history=[], top_k=RANK_CANDIDATES)
        times.append((time.perf_counter() - t0) * 1000)
        ids = [r.hit.entry.id for r in result.related]
        ranks.append(next((i for i, e in enumerate(ids, 1) if e in q["relevant_ids"]), 0))
        conf.append(result.decision.confidence)
        top_right.append(ranks[-1] == 1)
        if result.decision.answered:
            answered += 1
            right += result.decision.hit is not None and result.decision.hit.entry.id in q["relevant_ids"]
    oos = ranker._read_jsonl(ranker.EVAL / "out_of_scope.jsonl")
    oos_answered = sum(pipeline.faq(q["query"], history=[], top_k=3).decision.answered for q in oos)
    kept = 0
    for r in holdout:
        related = pipeline.faq(r.text, history=[], top_k=1).related
        first = related[0].hit.entry.id if related else None
        kept += (first == r.label) == (r.source == "right")
    n = max(len(ranks), 1)
    return {"r1": round(sum(x == 1 for x in ranks) / n, 4), "mrr": round(sum(1 / x for x in ranks if x) / n, 4),
            "answered": round(answered / n, 4), "precision": round(right / answered, 4) if answered else None,
            "oos_answered": round(oos_answered / max(len(oos), 1), 4),
            "ece": round(expected_calibration_error(np.array(conf), np.array(top_right)), 4),
            "latency_ms": round(float(np.median(times)), 4),
            "holdout": round(kept / len(holdout), 4) if holdout else None}


def ranker_metrics(settings: Settings, champ: dict[str, float | None], chall: dict[str, float | None],
                   n_holdout: int) -> list[gate.Metric]:
    r = settings.retrain
    on_holdout = n_holdout >= r.min_holdout

    m = _pairs(champ, chall)
    return [m("held-out feedback: pairs kept right", "holdout", role="primary" if on_holdout else "info"),
            m("shopper questions: R@1", "r1", role="guard" if on_holdout else "primary", tolerance=r.tolerance),
            m("shopper questions: MRR", "mrr", tolerance=r.tolerance),
            m("widget: precision of answers", "precision", tolerance=r.tolerance),
            m("widget: share answered", "answered", tolerance=r.small_set_tolerance),
            m("widget: out-of-scope answered", "oos_answered", higher_is_better=False, tolerance=r.tolerance),
            m("answer confidence: calibration error (ECE)", "ece", higher_is_better=False, tolerance=r.ece_tolerance),
            _latency("/v1/faq path latency p50 (ms)", champ.get("latency_ms"), chall.get("latency_ms"), settings)]


def retrain_ranker(settings: Settings, engine: Engine, *, promote: bool = True) -> Retrained:
    steps = tqdm(total=5, desc="retrain ranker", unit="step")
    root = settings.model_root("ranker")
    pipeline = AssistPipeline.load(settings)
    champion = pipeline.ranker
    assert champion is not None and pipeline.understander is not None

    steps.set_postfix_str("gathering feedback")
    data = learning.gather(engine, settings.paths.data_dir, what="ranker", holdout_share=settings.retrain.holdout_share)
    if not data.train:
        steps.close()
        raise InvalidInput("nothing new to learn from: no suggestion accepted, edited or rejected and no widget answer "
                           "rated (outside the held-out slice)")
    params = ranker.ranker_params(pipeline)
    fingerprint = f"{ranker.ranker_fingerprint(settings)}+{data.digest()}"
    version = _new_version("ranker", champion.version, fingerprint, params, steps)
    steps.update()

    steps.set_postfix_str("held-out phrasings and feedback pairs, fitted and calibrated")
    queries = ranker.training_queries(pipeline, progress=False) + ranker.dev_queries(pipeline)
    queries += _feedback_queries(pipeline, data.train, settings.retrain.feedback_weight)
    challenger, chosen, _ = ranker.fit_and_calibrate(queries)
    steps.update()

    steps.set_postfix_str("measuring the champion")
    champ = _ranker_measures(pipeline, champion, data.holdout)
    steps.update()
    steps.set_postfix_str("measuring the challenger")
    chall = _ranker_measures(pipeline, challenger, data.holdout)
    steps.update()

    decision = gate.decide(ranker_metrics(settings, champ, chall, len(data.holdout)))
    result = Retrained("ranker", champion.version, version, decision, data.counts())
    return _conclude(result, root, promote, steps, lambda m: ranker.save_ranker(
        pipeline, root / version, challenger, version=version, fingerprint=fingerprint, params=params,
        metrics={"widget_on_calibration_set": chosen, **m}, table=decision.table(champion.version, version)))


# In this order for `all`: escalation reads the sentiment model, the ranker the intent model.
RETRAINERS = {"intent": retrain_intent, "sentiment": retrain_sentiment, "escalation": retrain_escalation,
              "ranker": retrain_ranker}
