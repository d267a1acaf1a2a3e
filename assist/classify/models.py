"""The three trained models and their folders (manifest.json, model card, skops files)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.linear_model import Ridge

from assist.artifacts import read_manifest
from assist.classify.signals import SIGNALS, RiskLexicon, Signal
from assist.classify.text import TextClassifier, _load_skops
from assist.errors import ArtifactError, Incompatible
from assist.normalize import Message
from assist.types import INTENT_PHASES

SENTIMENTS = ("negative", "neutral", "positive")
DECISIONS = ("none", "watch", "escalate")


def _check_folder(folder: Path, name: str, embedding_version: str | None = None) -> dict:  # type: ignore[type-arg]
    if not Path(folder).is_dir():
        raise ArtifactError(f"no {name} model at {folder}; train it with `assist train {name}`")
    manifest = read_manifest(folder)
    if manifest.get("name") != name:
        raise ArtifactError(f"{folder} holds a '{manifest.get('name')}' model, expected '{name}'")
    trained_with = manifest.get("embedding_version")
    if embedding_version is not None and trained_with and trained_with != embedding_version:
        raise Incompatible(f"{folder} was trained with embedding {trained_with}, the service has "
                           f"{embedding_version}; retrain it with `assist train {name}`")
    return manifest


# --- intent -------------------------------------------------------------------------------

@dataclass(frozen=True)
class IntentPrediction:
    intent: str
    phase: str
    confidence: float
    alternatives: list[tuple[str, float]]
    abstained: bool = False  # too unsure: `other`, with the likely intents as alternatives
    probabilities: dict[str, float] = field(default_factory=dict)  # every intent's (read by the ranker)


ABSTAIN_INTENT = "other"


class IntentModel:
    """Which of the 22 intents a message expresses; the phase follows from the intent.
    Below `abstain_below` the model answers `other` and shows its best guesses instead of
    sinking an unfamiliar message into a confident wrong intent. It can also read the
    conversation: the embedding of the turn just before (the agent's question, weighted by
    context_weight) and of the customer's own previous message (history_weight): 没有了 after
    还有其他问题吗 is a closing, a bare order number inside a 价保 flow is a 价保 question."""

    def __init__(self, *, classifier: TextClassifier, abstain_below: float = 0.0, context_weight: float = 0.0,
                 history_weight: float = 0.0):
        self.classifier = classifier
        self.abstain_below = abstain_below
        self.context_weight = context_weight
        self.history_weight = history_weight

    def dense(self, embeddings: np.ndarray, contexts: np.ndarray | None,
              previous: np.ndarray | None = None) -> np.ndarray | None:
        """The dense block the classifier reads: the message embedding, then (when their
        weight is > 0) the turn before's and the customer's previous message's, each scaled
        by its weight / embedding_weight (zeros where there is none)."""
        if self.classifier.embedding_weight <= 0:
            return None
        blocks = [embeddings]
        for weight, vectors in ((self.context_weight, contexts), (self.history_weight, previous)):
            if weight > 0:
                v = np.zeros_like(embeddings) if vectors is None else vectors
                blocks.append(v * (weight / self.classifier.embedding_weight))
        return embeddings if len(blocks) == 1 else np.hstack(blocks)

    def proba(self, messages: list[Message], contexts: list[Message | None] | None = None,
              previous: list[Message | None] | None = None) -> np.ndarray:
        emb = np.vstack([m.embedding for m in messages])

        def stack(turns: list[Message | None] | None) -> np.ndarray | None:
            if turns is None:
                return None
            return np.vstack([t.embedding if t is not None else np.zeros_like(m.embedding)
                              for m, t in zip(messages, turns)])

        return self.classifier.predict_proba([m.features for m in messages],
                                             self.dense(emb, stack(contexts), stack(previous)))

    def predict(self, message: Message, context: Message | None = None,
                previous: Message | None = None) -> IntentPrediction:
        return self.decide(self.proba([message], [context], [previous])[0])

    def decide(self, proba: np.ndarray) -> IntentPrediction:
        order = np.argsort(-proba)
        classes = self.classifier.classes_
        best, conf = classes[order[0]], float(proba[order[0]])
        probs = {c: float(p) for c, p in zip(classes, proba)}
        if conf < self.abstain_below and best != ABSTAIN_INTENT:
            return IntentPrediction(intent=ABSTAIN_INTENT, phase=INTENT_PHASES[ABSTAIN_INTENT], confidence=conf,
                                    alternatives=[(classes[i], float(proba[i])) for i in order[:3]], abstained=True,
                                    probabilities=probs)
        return IntentPrediction(
            intent=best, phase=INTENT_PHASES[best], confidence=conf,
            alternatives=[(classes[i], float(proba[i])) for i in order[1:3]], probabilities=probs,
        )

    def save(self, folder: Path) -> None:
        self.classifier.save(folder)
        (Path(folder) / "thresholds.json").write_text(json.dumps(
            {"abstain_below": self.abstain_below, "context_weight": self.context_weight,
             "history_weight": self.history_weight}), encoding="utf-8")

    version = ""

    @classmethod
    def load(cls, folder: Path, *, embedding_version: str | None = None) -> "IntentModel":
        manifest = _check_folder(folder, "intent", embedding_version)
        t_path = Path(folder) / "thresholds.json"
        t = json.loads(t_path.read_text(encoding="utf-8")) if t_path.exists() else {}
        self = cls(classifier=TextClassifier.load(folder), abstain_below=float(t.get("abstain_below", 0.0)),
                   context_weight=float(t.get("context_weight", 0.0)),
                   history_weight=float(t.get("history_weight", 0.0)))
        self.version = manifest["version"]
        return self


# --- sentiment ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SentimentPrediction:
    label: str
    probabilities: dict[str, float]
    intensity: float  # 0 calm … 1 furious / very urgent


class SentimentModel:
    """Negative / neutral / positive, plus a regressor for how angry or urgent (intensity)."""

    def __init__(self, *, classifier: TextClassifier, intensity: Ridge | None = None):
        self.classifier = classifier
        self.intensity = intensity

    def fit_intensity(self, features: list[str], targets: np.ndarray) -> None:
        self.intensity = Ridge(alpha=1.0).fit(self.classifier.tfidf(features), targets)

    def predict_many(self, texts: list[str]) -> list[SentimentPrediction]:
        """Predictions for Message.features strings."""
        if not texts:
            return []
        X = self.classifier.tfidf(texts)  # shared by both models
        proba = self.classifier.proba_from_tfidf(X)
        classes = self.classifier.classes_
        if self.intensity is not None:
            # Ridge.predict as arithmetic, for the same reason as TextClassifier.tfidf()
            raw = np.asarray(X @ self.intensity.coef_).ravel() + self.intensity.intercept_
        else:
            raw = proba[:, classes.index("negative")]
        out = []
        for p, r in zip(proba, raw):
            probs = {c: float(v) for c, v in zip(classes, p)}
            out.append(SentimentPrediction(label=max(probs, key=probs.__getitem__), probabilities=probs,
                                           intensity=float(np.clip(r, 0.0, 1.0))))
        return out

    def save(self, folder: Path) -> None:
        self.classifier.save(folder)
        if self.intensity is not None:
            sio.dump(self.intensity, Path(folder) / "intensity.skops")

    version = ""

    @classmethod
    def load(cls, folder: Path) -> "SentimentModel":
        manifest = _check_folder(folder, "sentiment")
        ridge_path = Path(folder) / "intensity.skops"
        self = cls(classifier=TextClassifier.load(folder),
                   intensity=_load_skops(ridge_path) if ridge_path.exists() else None)
        self.version = manifest["version"]
        return self


# --- escalation ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Turn:
    """What escalation features are computed from: a customer message and its analysis."""

    message: Message
    signals: list[Signal]
    sentiment: SentimentPrediction

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def embedding(self) -> np.ndarray:
        assert self.message.embedding is not None, "parse turns with the encoder"
        return self.message.embedding


REPEAT_SIMILARITY = 0.8


def repeat_similarity(turn: Turn, history: list[Turn]) -> tuple[int, float]:
    """(index, cosine) of the earlier message most like this one; (-1, 0) without history."""
    if not history:
        return -1, 0.0
    sims = [float(turn.embedding @ h.embedding) for h in history]
    best = int(np.argmax(sims))
    return best, sims[best]


def negative_trend(turn: Turn, history: list[Turn]) -> float:
    """How much more negative the conversation got turn by turn: the rise of p(negative)
    over the last turns when every step rises (0 when any step falls or stays)."""
    series = [h.sentiment.probabilities.get("negative", 0.0) for h in history[-2:]]
    series.append(turn.sentiment.probabilities.get("negative", 0.0))
    if len(series) < 2 or any(b <= a for a, b in zip(series, series[1:])):
        return 0.0
    return series[-1] - series[0]


def escalation_features(turn: Turn, history: list[Turn]) -> np.ndarray:
    """Dense features of the message itself (its risk signals, mood, insistence) and of the
    history only through explicit signals (repetition of an earlier message, mood trend), so
    an angry history does not make a calm message look escalating. Intensity is left out on
    purpose: its regressor is fitted on the escalation data itself, so on training rows it
    would be an in-sample (leaked) feature."""
    now = {s.signal for s in turn.signals}
    _, repeat = repeat_similarity(turn, history)
    neg_now = turn.sentiment.probabilities.get("negative", 0.0)
    text = turn.text
    exclaims = min(text.count("!") + text.count("?"), 3) / 3
    return np.array(
        [1.0 if s in now else 0.0 for s in SIGNALS]
        + [repeat * neg_now, 1.0 if repeat >= REPEAT_SIMILARITY and neg_now >= 0.5 else 0.0, neg_now,
           negative_trend(turn, history), exclaims],
        dtype=np.float64,
    )


class EscalationModel:
    """p(none / watch / escalate) from the message text (char n-grams) and the dense features."""

    def __init__(self, *, classifier: TextClassifier, escalate_threshold: float = 0.5,
                 watch_threshold: float = 0.5):
        self.classifier = classifier
        self.escalate_threshold = escalate_threshold
        self.watch_threshold = watch_threshold

    def probabilities(self, turn: Turn, history: list[Turn]) -> dict[str, float]:
        feats = escalation_features(turn, history).reshape(1, -1)
        proba = self.classifier.predict_proba([turn.message.features], feats)[0]
        return {c: float(p) for c, p in zip(self.classifier.classes_, proba)}

    def decide(self, probs: dict[str, float], *, hard_signal: bool = False) -> str:
        """hard_signal: the message itself threatens, reports harm or insults, in a negative
        mood; such a message escalates whatever the model's probability."""
        if hard_signal or probs.get("escalate", 0.0) >= self.escalate_threshold:
            return "escalate"
        if probs.get("escalate", 0.0) + probs.get("watch", 0.0) >= self.watch_threshold:
            return "watch"
        return "none"

    def save(self, folder: Path) -> None:
        self.classifier.save(folder)
        (Path(folder) / "thresholds.json").write_text(json.dumps(
            {"escalate": self.escalate_threshold, "watch": self.watch_threshold}), encoding="utf-8")

    version = ""

    @classmethod
    def load(cls, folder: Path, *, embedding_version: str | None = None) -> "EscalationModel":
        manifest = _check_folder(folder, "escalation", embedding_version)
        t = json.loads((Path(folder) / "thresholds.json").read_text(encoding="utf-8"))
        self = cls(classifier=TextClassifier.load(folder), escalate_threshold=t["escalate"],
                   watch_threshold=t["watch"])
        self.version = manifest["version"]
        return self


HARD_SIGNALS = frozenset({"safety", "legal_threat", "complaint_threat", "counterfeit", "profanity",
                          "supervisor_request", "repeat_contact", "service_contempt"})


def has_hard_signal(turn: Turn) -> bool:
    return turn.sentiment.probabilities.get("negative", 0.0) >= 0.5 and any(
        s.signal in HARD_SIGNALS for s in turn.signals)


def build_turns(messages: list[Message], lexicon: RiskLexicon, sentiment: SentimentModel) -> list[Turn]:
    sents = sentiment.predict_many([m.features for m in messages])
    return [Turn(message=m, signals=lexicon.find(m.text), sentiment=s) for m, s in zip(messages, sents)]
