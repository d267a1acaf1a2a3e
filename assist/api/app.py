"""create_app(): the FastAPI application. Models load in the lifespan, never at import."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assist import __version__
from assist.api.routes import assist as assist_routes
from assist.api.routes import health
from assist.config import Settings, get_settings
from assist.errors import AssistError, InvalidInput, NotReady
from assist.pipeline import AssistPipeline

log = logging.getLogger("assist.api")


def _error(status: int, code: str, message: str, request: Request, details: list | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or [],
                      "request_id": getattr(request.state, "request_id", None)}}
    return JSONResponse(status_code=status, content=body, headers=headers)


class RequestIdMiddleware:
    """Gives every request an id (the client's X-Request-ID, or a new one) in
    request.state.request_id and the response header. Plain ASGI: Starlette's
    BaseHTTPMiddleware costs about a millisecond a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")[:64]
        request_id = given or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings | None = None, *, pipeline: AssistPipeline | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pipeline = pipeline or AssistPipeline.load(settings)
        log.info("ready: %s", app.state.pipeline.versions)
        yield

    app = FastAPI(title="Xiaoer (店小二) assist", version=__version__, lifespan=lifespan,
                  description="Agent-assist and self-service FAQ for Chinese e-commerce customer service.")
    app.state.pipeline = None
    app.state.settings = settings

    app.add_middleware(RequestIdMiddleware)

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
        log.exception("request %s failed", getattr(request.state, "request_id", "-"))
        return _error(500, exc.code, "internal error", request)

    app.include_router(health.router)
    app.include_router(assist_routes.router)
    return app
