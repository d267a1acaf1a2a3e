"""Hot reload: a new pipeline (knowledge, index, models) is built beside the one in
service and swapped in with one reference assignment. Requests in flight hold the old one
and finish on it; a broken knowledge base or model is refused and the old one keeps serving."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from assist.config import Settings
from assist.errors import AssistError, ReloadRefused
from assist.pipeline import AssistPipeline

log = logging.getLogger("assist.api")


class Reloader:
    def __init__(self, app: FastAPI, settings: Settings):
        self.app = app
        self.settings = settings
        self.loaded_at: str | None = None
        self._lock = asyncio.Lock()  # one reload at a time; a second waits for the first

    def installed(self, pipeline: AssistPipeline) -> None:
        self.app.state.pipeline = pipeline
        self.loaded_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    async def load_first(self) -> None:
        """The start-up load, under the same lock as a reload: a reload (or a promotion) asked
        for while the service is still starting waits for it, and never builds beside it."""
        async with self._lock:
            self.installed(await asyncio.to_thread(AssistPipeline.load, self.settings))

    async def reload(self, *, change: Callable[[], Any] | None = None,
                     undo: Callable[[], Any] | None = None) -> dict[str, Any]:
        """change: what to do on disk first (a model promotion), under the same lock; undo puts
        it back when the new pipeline cannot load, so disk and service never disagree."""
        async with self._lock:
            if change is not None:
                await asyncio.to_thread(change)  # may read and check the knowledge base: off the loop
            try:
                new = await asyncio.to_thread(AssistPipeline.load, self.settings)
            except AssistError as e:  # every knowledge error, or the first broken artifact
                if undo is not None:
                    await asyncio.to_thread(undo)
                raise ReloadRefused(e.problems or [str(e)]) from e
            old = self.app.state.pipeline
            self.installed(new)
            log.info("reloaded", extra={"versions": new.versions})
            return {"previous": old.versions if old else {}, "versions": new.versions, "loaded_at": self.loaded_at}

    async def reload_logged(self) -> None:
        """For SIGHUP: nobody waits for the answer, so a refusal is logged."""
        try:
            await self.reload()
        except ReloadRefused as e:
            log.error("reload refused, the old pipeline keeps serving", extra={"problems": e.problems})
