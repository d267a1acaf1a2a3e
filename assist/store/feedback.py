"""Feedback rows: committed before they are acknowledged; the same client_key twice is
one row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assist.errors import NotFound
from assist.store.log import InteractionLog
from assist.store.tables import Feedback, Interaction


def record_feedback(engine: Engine, interactions: InteractionLog, fields: dict[str, Any]) -> tuple[Feedback, bool]:
    """(the row, whether it was new). NotFound when no interaction has the request id,
    after waiting for the log's queued rows (feedback can arrive right after the answer)."""
    with Session(engine, expire_on_commit=False) as s:
        if (seen := s.scalar(select(Feedback).where(Feedback.client_key == fields["client_key"]))) is not None:
            return seen, False
        answer = _answer(s, fields["request_id"])
        if answer is None:
            interactions.flush()
            if (answer := _answer(s, fields["request_id"])) is None:
                raise NotFound(f"no interaction with request_id {fields['request_id']!r}")
        # Name the suggestion both ways (rank and entry), so analytics can count either.
        shown = {x["rank"]: x["entry_id"] for x in answer.suggestions}
        if fields.get("rank") is not None and fields.get("entry_id") is None:
            fields["entry_id"] = shown.get(fields["rank"])
        elif fields.get("entry_id") is not None and fields.get("rank") is None:
            fields["rank"] = next((r for r, e in shown.items() if e == fields["entry_id"]), None)
        fields["answer_intent"] = answer.intent
        row = Feedback(**fields, created_at=dt.datetime.now(dt.UTC))
        s.add(row)
        try:
            s.commit()
        except IntegrityError:  # the same client_key, committed by a concurrent request
            s.rollback()
            return s.scalars(select(Feedback).where(Feedback.client_key == fields["client_key"])).one(), False
        return row, True


def _answer(s: Session, request_id: str) -> Interaction | None:
    return s.scalar(select(Interaction).where(Interaction.request_id == request_id))
