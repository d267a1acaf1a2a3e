"""The interaction log: rows are handed to a background thread that writes them in
batches, so a request never waits on the database, and a failing database never fails an
answer (the failure is counted and shown in /readyz)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy import Engine, insert

from assist.store.stats import add_counts
from assist.store.tables import Interaction

log = logging.getLogger("assist.store")
_STOP = object()


class InteractionLog:
    def __init__(self, engine: Engine, *, max_batch: int = 256, max_queue: int = 20_000, linger_s: float = 0.05):
        self.engine = engine
        self.max_batch = max_batch
        # A batch waits this long for more rows: under steady traffic one transaction (and
        # one fsync) carries many answers, instead of each answer paying for its own.
        self.linger_s = linger_s
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._done = threading.Condition()
        self.queued = self.written = self.failed = self.dropped = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="interaction-log", daemon=True)
        self._thread.start()

    def record(self, row: dict[str, Any]) -> None:
        """Queue one row (Interaction's columns, text already masked); never blocks."""
        try:
            self._queue.put_nowait(row)
        except queue.Full:  # the database is far behind: shed rows rather than memory
            self.dropped += 1
            return
        with self._done:
            self.queued += 1

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every row queued so far is written (or failed); False on timeout."""
        with self._done:
            target = self.queued
            return self._done.wait_for(lambda: self.written + self.failed >= target, timeout)

    def status(self) -> dict[str, Any]:
        return {"ok": self.failed == 0 and self.dropped == 0, "written": self.written, "failed": self.failed,
                "dropped": self.dropped, "pending": self._queue.qsize(), "last_error": self.last_error}

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + self.linger_s
            while len(batch) < self.max_batch and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get(timeout=max(deadline - time.monotonic(), 0.0)))
                except queue.Empty:
                    break
            stop = any(r is _STOP for r in batch)
            rows = [r for r in batch if r is not _STOP]
            if rows:
                self._write(rows)
            if stop:
                return

    def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(Interaction), rows)
                add_counts(conn, rows)
            ok, error = len(rows), None
        except Exception as e:  # noqa: BLE001 - any database failure is counted, never raised
            ok, error = 0, f"{type(e).__name__}: {e}"[:500]
            log.error("interaction log write failed", extra={"rows": len(rows), "error": error})
        with self._done:
            self.written += ok
            self.failed += len(rows) - ok
            if error:
                self.last_error = error
            self._done.notify_all()
