"""What ops give the models to learn from: intents, sentiments and escalation decisions
corrected (or confirmed) by agents' feedback, and the sets brought in by `assist data import`. A fixed slice of the feedback (chosen by a digest of
the message, so a question repeated word for word stays on one side) is held out: it never
trains, and the promotion gate measures champion and challenger on it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from assist.normalize import normalize_text
from assist.store.tables import Feedback, Interaction


@dataclass(frozen=True)
class Labelled:
    text: str                 # masked, as the log and the imported sets keep it
    label: str                # an intent, a sentiment, an escalation decision (none | watch | escalate), an entry
    source: str               # feedback | imported:<set name>
    key: str                  # the request id, or set:line — names the row in reports
    history: tuple[str, ...] = ()


@dataclass(frozen=True)
class LearningData:
    train: list[Labelled]
    holdout: list[Labelled]

    def digest(self) -> str:
        """Changes whenever what the models would learn from changes."""
        body = json.dumps(sorted((r.text, r.label, r.source) for r in self.train), ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"holdout": len(self.holdout)}
        for r in self.train:
            kind = r.source.split(":")[0]
            out[kind] = out.get(kind, 0) + 1
        return out


# what → (the column the service's answer gave, the column an agent's correction goes to)
_COLUMNS = {"intent": (Interaction.intent, Feedback.corrected_intent),
            "sentiment": (Interaction.sentiment, Feedback.corrected_sentiment),
            "escalation": (Interaction.escalation, Feedback.corrected_escalation)}


def feedback_labels(engine: Engine, what: str) -> list[Labelled]:
    """Each logged message's intent, sentiment or escalation decision (what) as agents'
    feedback tells it: what an agent corrected it to, or, where a suggestion was
    accepted or edited without a correction, what the service gave (confirmed; without these
    the held-out slice would hold only the champion's mistakes). The latest feedback on a
    message wins."""
    given_col, corrected_col = _COLUMNS[what]
    query = (select(Interaction.message, given_col, corrected_col, Feedback.request_id)
             .join(Interaction, Interaction.request_id == Feedback.request_id)
             .where(corrected_col.is_not(None) | Feedback.action.in_(("accepted", "edited")))
             .order_by(Feedback.created_at, Feedback.id))
    latest: dict[str, Labelled] = {}
    with Session(engine) as s:
        for message, given, corrected, request_id in s.execute(query):
            label = corrected or given
            if label:
                source = "feedback" if corrected else "confirmed"
                latest[request_id] = Labelled(text=message, label=label, source=source, key=request_id)
    return list(latest.values())


def imported_labels(data_dir: Path, what: str) -> list[Labelled]:
    """Every row of every imported set (<data_dir>/imported/, see ops/imports.py) that has the
    label: its intent or sentiment, or for escalation its escalate column (true → escalate,
    false → none)."""
    folder = data_dir / "imported"
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return []
    out = []
    for s in json.loads(manifest.read_text(encoding="utf-8"))["sets"]:
        lines = (folder / s["file"]).read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            row = json.loads(line)
            if what == "escalation":
                label = None if row.get("escalate") is None else "escalate" if row["escalate"] else "none"
            else:
                label = row.get(what)
            if label is not None:
                out.append(Labelled(text=row["text"], label=label, source=f"imported:{s['name']}",
                                    key=f"{s['file']}:{n}", history=tuple(row.get("history") or ())))
    return out


def held_out(text: str, share: float) -> bool:
    digest = hashlib.sha256(normalize_text(text).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def gather(engine: Engine, data_dir: Path, *, what: str, holdout_share: float) -> LearningData:
    """what: "intent", "sentiment", "escalation" or "ranker" (question → entry pairs; no
    imported sets)."""
    feedback = feedback_pairs(engine) if what == "ranker" else feedback_labels(engine, what)
    holdout = [r for r in feedback if held_out(r.text, holdout_share)]
    train = [r for r in feedback if not held_out(r.text, holdout_share)]
    if what != "ranker":
        train += imported_labels(data_dir, what)
    return LearningData(train=train, holdout=holdout)


def feedback_pairs(engine: Engine) -> list[Labelled]:
    """Question → FAQ entry pairs from what agents and shoppers did: a suggestion accepted or
    edited, or a widget answer found helpful, is right (source "right"); one rejected, or an
    answer found unhelpful, is wrong ("wrong"). label: the entry id."""
    query = (select(Interaction.message, Feedback.entry_id, Interaction.top_entry_id, Feedback.action,
                    Feedback.helpful, Feedback.request_id, Feedback.source)
             .join(Interaction, Interaction.request_id == Feedback.request_id)
             .order_by(Feedback.created_at, Feedback.id))
    latest: dict[tuple[str, str], Labelled] = {}
    with Session(engine) as s:
        for message, entry, top, action, helpful, request_id, source in s.execute(query):
            entry = entry if source == "sidebar" else top
            if not entry or (action is None and helpful is None):
                continue
            right = action in ("accepted", "edited") if source == "sidebar" else bool(helpful)
            latest[(request_id, entry)] = Labelled(text=message, label=entry, source="right" if right else "wrong",
                                                   key=request_id)
    return list(latest.values())
