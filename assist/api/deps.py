from __future__ import annotations

import hmac
from typing import Annotated

# Dependencies are async because they never block: a sync one would cost a thread-pool
# round trip on every request.
from fastapi import Depends, Request

from assist.errors import NotReady
from assist.pipeline import AssistPipeline
from assist.store.store import Store


async def get_pipeline(request: Request) -> AssistPipeline:
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        raise NotReady("models and knowledge are still loading")
    return pipeline  # type: ignore[no-any-return]


def is_admin(request: Request) -> bool:
    """The request carries the operators' bearer token (compared in constant time)."""
    token = request.app.state.settings.admin_token
    given = request.headers.get("authorization", "")
    return token is not None and hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode())


async def get_request_id(request: Request) -> str:
    return str(request.state.request_id)


async def get_store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


PipelineDep = Annotated[AssistPipeline, Depends(get_pipeline)]
StoreDep = Annotated[Store, Depends(get_store)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
