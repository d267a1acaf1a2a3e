"""create_app(): the FastAPI application. Models load in the lifespan, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assist import __version__
from assist.api.edge import BodyLimitMiddleware, PathCORS, RateLimitMiddleware, RequestIdMiddleware, error_body
from assist.api.reload import Reloader
from assist.api.routes import admin, feedback, health
from assist.api.routes import assist as assist_routes
from assist.config import Settings, get_settings
from assist.errors import AssistError, InvalidInput, NotFound, NotReady, ReloadRefused
from assist.pipeline import AssistPipeline
from assist.schemas import ERROR_RESPONSES
from assist.store.store import Store

log = logging.getLogger("assist.api")


def _error(status: int, code: str, message: str, request: Request, details: list | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message, getattr(request.state, "request_id", None),
                                                               details), headers=headers)


# The code of each status the framework itself can answer with (no route, wrong method,
# a body that is not JSON or not UTF-8, too big or too slow).
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
              413: "payload_too_large", 429: "rate_limited"}
WIDGET_PATHS = ("/v1/faq", "/v1/faq/feedback")


def server_options(settings: Settings) -> dict[str, object]:
    """How uvicorn runs the app (`assist serve`): our JSON
    logging instead of uvicorn's, no server banner, idle keep-alive connections closed."""
    return {"host": settings.host, "port": settings.port, "log_level": "warning", "log_config": None,
            "server_header": False, "timeout_keep_alive": 5}


def create_app(settings: Settings | None = None, *, pipeline: AssistPipeline | None = None) -> FastAPI:
    settings = settings or get_settings()

    async def load() -> None:
        try:
            await app.state.reloader.load_first()
        except AssistError as e:  # `assist serve` checked before starting; this is a late failure
            log.error("cannot serve: %s", e)
            os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown
            return
        log.info("ready", extra={"versions": app.state.pipeline.versions})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The port accepts connections at once: until the models are in, requests get 503
        # with Retry-After (deps.get_pipeline) and /healthz answers.
        app.state.store = Store.open(settings.db_url, log_interactions=settings.log_interactions)
        task = None
        if pipeline is not None:
            app.state.reloader.installed(pipeline)
        else:
            task = asyncio.create_task(load())
        with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):  # not in the main thread
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, lambda: asyncio.ensure_future(app.state.reloader.reload_logged()))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            app.state.store.close()  # the log's queued rows are written first

    app = FastAPI(title="Xiaoer (店小二) assist", version=__version__, lifespan=lifespan, responses=ERROR_RESPONSES,
                  description="Agent-assist and self-service FAQ for Chinese e-commerce customer service.")
    app.state.pipeline = None
    app.state.settings = settings
    app.state.reloader = Reloader(app, settings)

    # Outermost last: the request id first, so that every refusal below carries it.
    app.add_middleware(RateLimitMiddleware, paths=WIDGET_PATHS, limit=settings.widget_rate_limit)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(PathCORS, paths=WIDGET_PATHS, origins=settings.cors_origins)
    app.add_middleware(RequestIdMiddleware)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return _error(exc.status_code, HTTP_CODES.get(exc.status_code, "http_error"), detail, request,
                      headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                   for e in exc.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(x) for x in first["loc"] if x != "body") or "body"
        return _error(422, "invalid_request", f"{where}: {first['msg']}", request, details)

    @app.exception_handler(AssistError)
    async def assist_error(request: Request, exc: AssistError) -> JSONResponse:
        if isinstance(exc, InvalidInput):
            return _error(422, exc.code, str(exc), request)
        if isinstance(exc, NotReady):
            return _error(503, exc.code, str(exc), request, headers={"Retry-After": "5"})
        if isinstance(exc, NotFound):
            return _error(404, exc.code, str(exc), request)
        if isinstance(exc, ReloadRefused):
            return _error(409, exc.code, str(exc), request, [{"loc": [], "msg": p, "type": "broken"} for p in exc.problems])
        return await internal_error(request, exc)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        """Any bug: logged with the request id and the traceback; the client gets the id."""
        log.error("request failed", exc_info=exc, extra={"request_id": getattr(request.state, "request_id", None)})
        return _error(500, "internal_error", "internal error; quote the request_id when reporting it", request)

    app.include_router(health.router)
    app.include_router(assist_routes.router)
    app.include_router(feedback.router)
    app.include_router(admin.router)
    return app
