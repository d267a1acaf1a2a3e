"""`assist mine`: the questions Xiaoer could not answer well, grouped into draft FAQ entries.

A logged question counts when the widget handed it over for want of an answer (no_match,
low_confidence, ambiguous), when the top answer's calibrated confidence was under the
widget's threshold, or when an agent rejected its suggestion or a shopper said the answer did
not help. Questions are grouped by meaning and wording (sentence-embedding cosine raised by
shared words; average-linkage clustering, see similarity()), so
a group holds one recurring question however it is phrased. Each group of at least
`min_count` becomes a draft (knowledge/drafts/<id>.yaml): a representative question (the
member closest to all others), the other phrasings (masked, as logged), the intent most
members were given, how often and why it came up, and the nearest existing entry. A group
whose nearest entry is close enough is offered as new phrasings for that entry (merge_into)
instead of a new one. No answer is written: a person writes it and approves the draft."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from assist.normalize import normalize_text
from assist.store.tables import Feedback, Interaction

if TYPE_CHECKING:
    from assist.pipeline import AssistPipeline

HANDOFF_REASONS = ("no_match", "low_confidence", "ambiguous")
# Openers and thanks are not questions an FAQ entry could answer.
NOT_QUESTIONS = frozenset({"greeting", "praise", "human_agent"})
MIN_CHARS = 4
MAX_QUESTIONS = 5000  # the most recent; clustering is quadratic in memory


@dataclass(frozen=True)
class Question:
    text: str                  # masked, as logged
    intent: str | None
    why: str                   # handoff | low_confidence | rejected
    at: dt.datetime


@dataclass
class Draft:
    id: str
    question: str
    paraphrases: list[str]
    intent: str
    count: int
    reasons: dict[str, int]
    first_seen: str
    last_seen: str
    nearest: dict[str, object] | None  # {"id", "similarity"} of the closest existing entry
    merge_into: str | None = None
    answer: str = ""

    def as_yaml(self) -> str:
        doc = {"version": 1, "draft": {
            "id": self.id, "status": "draft", "intent": self.intent, "question": self.question,
            "paraphrases": self.paraphrases, "answer": self.answer,
            **({"merge_into": self.merge_into} if self.merge_into else {}),
            "mined": {"count": self.count, "reasons": self.reasons, "first_seen": self.first_seen,
                      "last_seen": self.last_seen, "nearest_entry": self.nearest}}}
        head = ("# Mined by `assist mine` from questions Xiaoer could not answer well. A person writes the\n"
                "# answer (never generated), then `assist kb approve " + self.id + "` moves it into faq/"
                + (f" (as new phrasings of {self.merge_into})" if self.merge_into else "") + ".\n")
        return head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def unanswered(engine: Engine, start: dt.datetime, end: dt.datetime, *, low_confidence: float) -> list[Question]:
    """The logged questions of [start, end) that were not answered well, newest first."""
    rejected = (select(Feedback.request_id)
                .where((Feedback.action == "rejected") | Feedback.helpful.is_(False)))
    query = (select(Interaction.message, Interaction.intent, Interaction.answered, Interaction.handoff_reason,
                    Interaction.top_confidence, Interaction.created_at, Interaction.request_id.in_(rejected))
             .where(Interaction.created_at >= start, Interaction.created_at < end)
             .order_by(Interaction.created_at.desc()))
    out: list[Question] = []
    with Session(engine) as s:
        for text, intent, answered, handoff, top, at, was_rejected in s.execute(query):
            if intent in NOT_QUESTIONS or len(normalize_text(text)) < MIN_CHARS:
                continue
            if was_rejected:
                why = "rejected"
            elif answered is False and handoff in HANDOFF_REASONS:
                why = "handoff"
            elif answered is None and (top is None or top < low_confidence):
                why = "low_confidence"  # the sidebar: no suggestion the widget would have sent
            else:
                continue
            out.append(Question(text=text, intent=intent, why=why, at=at))
            if len(out) >= MAX_QUESTIONS:
                break
    return out


LEXICAL_WEIGHT = 0.5


def similarity(terms: list[tuple[str, ...]], embeddings: np.ndarray) -> np.ndarray:
    """Pairwise similarity: dense cosine, raised by the TF-IDF cosine of the words the lexical
    index reads (Message.terms). Words only add: two phrasings of one question often share
    none (measured on the planted set of training/eval_mining.py, averaging the two split it)."""
    emb = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-9)
    tfidf = TfidfVectorizer(analyzer=lambda ts: ts).fit_transform([list(t) for t in terms])
    lexical = (tfidf @ tfidf.T).toarray()
    return np.clip(emb @ emb.T + LEXICAL_WEIGHT * lexical, 0.0, 1.0)


def clusters(sim: np.ndarray, *, threshold: float) -> list[list[int]]:
    """Groups whose average pairwise similarity stays at or above threshold, largest first."""
    if len(sim) < 2:
        return [[i] for i in range(len(sim))]
    labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                     distance_threshold=1.0 - threshold).fit_predict(1.0 - sim)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    return sorted(groups.values(), key=len, reverse=True)


def draft_for(questions: list[Question], members: list[int], sim: np.ndarray) -> Draft:
    """The draft of one group: its most central phrasing as the question, the others
    (distinct once normalized) as paraphrases."""
    central = max(members, key=lambda i: float(sim[i, members].mean()))
    seen = {normalize_text(questions[central].text)}
    paraphrases = []
    for i in sorted(members, key=lambda i: -float(sim[central, i])):
        key = normalize_text(questions[i].text)
        if key not in seen:
            seen.add(key)
            paraphrases.append(questions[i].text)
    intents = Counter(questions[i].intent or "other" for i in members)
    times = sorted(questions[i].at for i in members)
    digest = hashlib.sha256("\n".join(sorted(seen)).encode()).hexdigest()[:10]
    return Draft(id=f"draft-{digest}", question=questions[central].text, paraphrases=paraphrases,
                 intent=intents.most_common(1)[0][0], count=len(members),
                 reasons=dict(Counter(questions[i].why for i in members).most_common()),
                 first_seen=times[0].isoformat(timespec="seconds"), last_seen=times[-1].isoformat(timespec="seconds"),
                 nearest=None)


def write_drafts(drafts: list[Draft], folder: Path) -> list[Path]:
    """One YAML file per draft; a draft already there (same id) is left as the reviewer has it."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for d in drafts:
        path = folder / f"{d.id}.yaml"
        if path.exists():
            continue
        tmp = path.with_suffix(".tmp")
        tmp.write_text(d.as_yaml(), encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


@dataclass(frozen=True)
class Mined:
    questions: int
    drafts: list[Draft]
    written: list[Path]
    skipped: list[str]      # drafts already in the folder for the same question


def existing_phrasings(folder: Path) -> dict[str, str]:
    """normalized phrasing → id of the draft already holding it."""
    out: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            d = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("draft") or {}
        except yaml.YAMLError:
            continue  # `assist kb validate` reports it
        for t in [d.get("question"), *(d.get("paraphrases") or [])]:
            if isinstance(t, str):
                out[normalize_text(t)] = str(d.get("id"))
    return out


def mine(pipeline: AssistPipeline, engine: Engine, start: dt.datetime, end: dt.datetime, *, min_count: int,
         threshold: float, merge_similarity: float, folder: Path) -> Mined:
    from tqdm import tqdm

    from assist.pipeline import FAQ_KINDS

    answer_threshold = pipeline.settings.policy.answer_threshold or (
        pipeline.ranker.answer_threshold if pipeline.ranker else 0.8)
    known = {normalize_text(t) for e in pipeline.kb.entries() if e.kind == "faq" for t in e.texts}
    questions = [q for q in unanswered(engine, start, end, low_confidence=answer_threshold)
                 if normalize_text(q.text) not in known]  # approved since: answered now
    if not questions:
        return Mined(0, [], [], [])
    messages = []
    for i in tqdm(range(0, len(questions), 256), desc="embedding questions", unit="batch"):
        messages += pipeline.normalizer.parse_many([q.text for q in questions[i:i + 256]],
                                                   encoder=pipeline.index.encoder, lexical=True)
    sim = similarity([m.terms for m in messages], np.vstack([m.embedding for m in messages]))
    drafted = existing_phrasings(folder)
    drafts, skipped = [], []
    for members in clusters(sim, threshold=threshold):
        if len(members) < min_count:
            break
        d = draft_for(questions, members, sim)
        already = {drafted[k] for k in (normalize_text(t) for t in [d.question, *d.paraphrases]) if k in drafted}
        if already:
            skipped.append(min(already))
            continue
        central = next(messages[i] for i in members if questions[i].text == d.question)
        hits = pipeline.index.search(central, top_k=1, kinds=FAQ_KINDS)
        if hits:
            d.nearest = {"id": hits[0].entry.id, "similarity": round(float(hits[0].similarity), 3)}
            if hits[0].similarity >= merge_similarity:
                d.merge_into = hits[0].entry.id
        drafts.append(d)
    return Mined(len(questions), drafts, write_drafts(drafts, folder), skipped)
