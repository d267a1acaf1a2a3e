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
        if not _known(s, fields["request_id"]):
            interactions.flush()
            if not _known(s, fields["request_id"]):
                raise NotFound(f"no interaction with request_id {fields['request_id']!r}")
        row = Feedback(**fields, created_at=dt.datetime.now(dt.UTC))
        s.add(row)
        try:
            s.commit()
        except IntegrityError:  # the same client_key, committed by a concurrent request
            s.rollback()
            return s.scalars(select(Feedback).where(Feedback.client_key == fields["client_key"])).one(), False
        return row, True


def _known(s: Session, request_id: str) -> bool:
    return s.scalar(select(Interaction.id).where(Interaction.request_id == request_id)) is not None
