"""The service's database as one object: the interaction log (written in the background)
and feedback (written before it is acknowledged)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from assist.store.db import ready_engine
from assist.store.feedback import record_feedback
from assist.store.log import InteractionLog
from assist.store.tables import Feedback


class Store:
    def __init__(self, engine: Engine, *, log_interactions: bool = True):
        self.engine = engine
        self.log = InteractionLog(engine)
        self.log_interactions = log_interactions

    @classmethod
    def open(cls, url: str, *, log_interactions: bool = True) -> Store:
        """StoreError if the database cannot be opened or has a schema this code does not know."""
        return cls(ready_engine(url), log_interactions=log_interactions)

    def record(self, row: dict[str, Any]) -> None:
        """Log one answer (in the background), unless the shop turned the log off."""
        if self.log_interactions:
            self.log.record(row)

    def feedback(self, fields: dict[str, Any]) -> tuple[Feedback, bool]:
        return record_feedback(self.engine, self.log, fields)

    def close(self) -> None:
        self.log.close()
        self.engine.dispose()
