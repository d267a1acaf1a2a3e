"""Operators' endpoints under /v1/admin: off without ASSIST_ADMIN_TOKEN, 401 without the
bearer token, 403 with a wrong one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from assist import __version__
from assist.api.deps import PipelineDep, StoreDep, is_admin
from assist.errors import InvalidInput
from assist.ops import registry
from assist.schemas import ADMIN_ERRORS, ErrorBody
from assist.store import stats


async def require_admin(request: Request) -> None:
    if request.app.state.settings.admin_token is None:
        raise HTTPException(404, "the admin endpoints are off: set ASSIST_ADMIN_TOKEN")
    if not request.headers.get("authorization"):
        raise HTTPException(401, "admin token required (Authorization: Bearer …)", headers={"WWW-Authenticate": "Bearer"})
    if not is_admin(request):
        raise HTTPException(403, "wrong admin token")


router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)], responses=ADMIN_ERRORS)


@router.get("/versions")
async def versions(request: Request, pipeline: PipelineDep) -> dict[str, Any]:
    """The knowledge and model versions in service, and when they were loaded."""
    return {"version": __version__, "versions": pipeline.versions, "loaded_at": request.app.state.reloader.loaded_at}


@router.post("/reload", responses={409: ADMIN_ERRORS[409]})
async def reload(request: Request) -> dict[str, Any]:
    """Load the knowledge base and models again from disk and swap them in; requests in flight
    finish on the old ones. Broken files: 409 with each problem, and the old ones keep serving."""
    return await request.app.state.reloader.reload()  # type: ignore[no-any-return]


@router.get("/stats")
async def admin_stats(request: Request, store: StoreDep,
                      start: Annotated[dt.date | None, Query(alias="from", description="first day (UTC); default: 30 days before `to`")] = None,
                      end: Annotated[dt.date | None, Query(alias="to", description="last day, included (UTC); default: today")] = None,
                      ) -> dict[str, Any]:
    """What was asked and answered, suggestion acceptance (by rank, entry, intent) with edit and
    reject reasons, widget deflection, escalations by route and reason, response times and SLAs,
    and the models retrained in the window with their promotion gate's decision."""
    last = end or dt.datetime.now(dt.UTC).date()
    first = start or last - dt.timedelta(days=29)
    if first > last:
        raise InvalidInput(f"from ({first}) is after to ({last})")
    span = stats.window(first, last)
    report = await run_in_threadpool(stats.report, store.engine, *span)
    report["retraining"] = registry.retraining_runs(request.app.state.settings.model_root, *span)
    return report  # type: ignore[no-any-return]


class Promotion(BaseModel):
    version: str = Field(min_length=1, max_length=64, description="a version listed by GET /v1/admin/models")


ModelName = Annotated[Literal["intent", "sentiment", "escalation", "ranker"], Path(description="the model")]


@router.get("/models")
async def models(request: Request) -> dict[str, Any]:
    """Every version of each model: in service, previous, candidate or rejected (with the
    promotion gate's table and reason)."""
    settings = request.app.state.settings
    return {name: {"in_service": registry.in_service(settings.model_root(name)),
                   "versions": [dataclasses.asdict(v) for v in registry.versions(settings.model_root(name))]}
            for name in registry.VERSIONED}


VERSION_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "no such version, or no earlier version to roll back to"},
    409: ADMIN_ERRORS[409]}


@router.post("/models/{name}/promote", responses=VERSION_ERRORS)
async def promote(request: Request, name: ModelName, body: Promotion) -> dict[str, Any]:
    """Put a version in service and reload; when it cannot load, the previous version stays
    in service (409 with the problems)."""
    root = request.app.state.settings.model_root(name)
    before = registry.in_service(root)
    if before == body.version:
        raise InvalidInput(f"{name} {body.version} is already in service")
    registry.check_version(root, body.version)
    result = await request.app.state.reloader.reload(change=lambda: registry.promote(root, body.version),
                                                      undo=lambda: registry.rollback(root))
    return {"model": name, "version": body.version, "replaced": before, **result}


@router.post("/models/{name}/rollback", responses=VERSION_ERRORS)
async def rollback(request: Request, name: ModelName) -> dict[str, Any]:
    """Back to the version that was in service before this one, and reload."""
    root = request.app.state.settings.model_root(name)
    before = registry.in_service(root)
    moved: list[str] = []
    result = await request.app.state.reloader.reload(change=lambda: moved.extend(registry.rollback(root)),
                                                      undo=lambda: registry.promote(root, moved[0]))
    return {"model": name, "version": moved[1], "replaced": before, **result}


class Approval(BaseModel):
    answer: str | None = Field(default=None, min_length=4, max_length=4000,
                               description="the entry's answer, written by a person (default: the draft's)")
    id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=128,
                           description="the new entry's id (default: faq-mined-<draft>)")


DRAFT_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "no such draft"},
    409: ADMIN_ERRORS[409],
    422: {"model": ErrorBody, "description": "the draft cannot be approved as it is (no answer, a taken id …)"}}


@router.get("/drafts")
async def drafts(request: Request) -> dict[str, Any]:
    """Draft FAQ entries mined from unanswered questions (`assist mine`), with any problems."""
    from assist.ops.drafts import load_drafts

    found, errors = await run_in_threadpool(load_drafts, request.app.state.settings.paths.knowledge_dir)
    return {"drafts": [d.model_dump() for _, d in found], "problems": errors}


@router.post("/drafts/{draft_id}/approve", responses=DRAFT_ERRORS)
async def approve_draft(request: Request, draft_id: Annotated[str, Path(pattern=r"^draft-[a-z0-9-]+$")],
                        body: Approval) -> dict[str, Any]:
    """Move a draft into faq/ (checked against the whole knowledge base) and reload, so the
    widget answers it."""
    from assist.ops.drafts import approve

    root = request.app.state.settings.paths.knowledge_dir
    done: list[str] = []
    result = await request.app.state.reloader.reload(
        change=lambda: done.append(approve(root, draft_id, answer=body.answer, entry_id=body.id)))
    return {"done": done[0], **result}


@router.post("/drafts/{draft_id}/dismiss", responses={404: DRAFT_ERRORS[404]})
async def dismiss_draft(request: Request, draft_id: Annotated[str, Path(pattern=r"^draft-[a-z0-9-]+$")]) -> dict[str, str]:
    """Keep the draft as dismissed, so `assist mine` does not draft its question again."""
    from assist.ops.drafts import dismiss

    await run_in_threadpool(dismiss, request.app.state.settings.paths.knowledge_dir, draft_id)
    return {"dismissed": draft_id}
