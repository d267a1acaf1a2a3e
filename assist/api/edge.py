"""What every request meets before a route: its id, the body-size and slow-body limits, CORS
for the widget, and the per-client rate limit. Plain ASGI (Starlette's BaseHTTPMiddleware
costs about a millisecond a request)."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from collections.abc import Iterable

from limits import parse as parse_limit
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A client's X-Request-ID is kept only if it is a plain token (it goes into logs and headers).
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def error_body(code: str, message: str, request_id: str | None, details: list | None = None) -> dict:  # type: ignore[type-arg]
    """The one error body of the API (schemas.ErrorBody)."""
    return {"error": {"code": code, "message": message, "details": details or [], "request_id": request_id}}


async def send_error(send: Send, scope: Scope, status: int, code: str, message: str,
                     headers: dict[str, str] | None = None) -> None:
    body = json.dumps(error_body(code, message, scope.get("state", {}).get("request_id")),
                      ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestIdMiddleware:
    """Gives every request an id (the client's X-Request-ID if it is a plain token, or a new
    one) in request.state.request_id and the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """A body over max_bytes is refused with 413 before it is read (by its Content-Length)
    or as soon as it grows past the limit; a body not complete within timeout_s gets 408,
    so half-sent bodies cannot hold connections open."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await send_error(send, scope, 413, "payload_too_large", f"request body over {self.max_bytes} bytes")
            return
        deadline = time.monotonic() + self.timeout_s
        received = 0

        async def limited() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
            except TimeoutError:
                raise HTTPException(408, f"request body not received within {self.timeout_s:g} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


class PathCORS:
    """CORS for the listed paths only (the widget's), from the shop's origins."""

    def __init__(self, app: ASGIApp, *, paths: Iterable[str], origins: list[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["POST", "OPTIONS"],
                                   allow_headers=["content-type", "x-request-id"], expose_headers=["x-request-id"],
                                   max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class RateLimitMiddleware:
    """`limit` (e.g. "60/minute") per client address on the listed (public) paths, in a
    moving window (the limits library); over it, 429 with Retry-After. In memory, per
    process: behind a proxy, limit at the proxy as well."""

    def __init__(self, app: ASGIApp, *, paths: Iterable[str], limit: str) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.item = parse_limit(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths and scope["method"] != "OPTIONS":
            client = (scope.get("client") or ("-", 0))[0]
            if not self.limiter.hit(self.item, client):
                reset = self.limiter.get_window_stats(self.item, client).reset_time
                await send_error(send, scope, 429, "rate_limited", f"more than {self.item} from this client",
                                 headers={"Retry-After": str(max(1, math.ceil(reset - time.time())))})
                return
        await self.app(scope, receive, send)
