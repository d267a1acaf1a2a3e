"""`assist log export`: the interaction log (or the feedback) as JSON lines or CSV, masked as
stored, for offline work."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from assist.store.tables import Feedback, Interaction

TABLES = {"interactions": Interaction, "feedback": Feedback}


def rows(engine: Engine, table: str, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
    """Every row of table created at or after since, oldest first, as plain values."""
    model = TABLES[table]
    query = select(model).order_by(model.created_at, model.id)
    if since is not None:
        query = query.where(model.created_at >= since)
    with Session(engine) as s:
        for row in s.scalars(query).yield_per(1000):
            yield {c.name: _plain(getattr(row, c.name)) for c in model.__table__.columns}


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.datetime) else v


def write(out: TextIO, records: Iterator[dict[str, Any]], fmt: str) -> int:
    """JSON lines, or CSV with nested values (suggestions, versions …) as JSON text."""
    n = 0
    writer: csv.DictWriter[str] | None = None
    for r in records:
        if fmt == "jsonl":
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        else:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(r))
                writer.writeheader()
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                             for k, v in r.items()})
        n += 1
    return n
