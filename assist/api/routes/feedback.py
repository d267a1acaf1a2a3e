from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from assist.api.deps import StoreDep
from assist.privacy import mask_pii
from assist.schemas import NOT_FOUND, RATE_LIMITED, FaqFeedbackRequest, FeedbackRequest, FeedbackResponse

router = APIRouter(prefix="/v1", tags=["feedback"])


async def _record(store: StoreDep, fields: dict[str, Any], response: Response) -> FeedbackResponse:
    row, new = await run_in_threadpool(store.feedback, fields)
    response.status_code = 201 if new else 200
    return FeedbackResponse(feedback_id=row.id, request_id=row.request_id, duplicate=not new)


@router.post("/feedback", response_model=FeedbackResponse, status_code=201,
             responses={200: {"model": FeedbackResponse, "description": "already recorded (same client_key)"},
                        **NOT_FOUND})
async def feedback(body: FeedbackRequest, store: StoreDep, response: Response) -> FeedbackResponse:
    """Agent sidebar: what the agent did with a suggestion. Answered once committed."""
    fields = body.model_dump()
    fields.update(source="sidebar", edited_text=mask_pii(body.edited_text) if body.edited_text else None,
                  comment=mask_pii(body.comment) if body.comment else None)
    return await _record(store, fields, response)


@router.post("/faq/feedback", response_model=FeedbackResponse, status_code=201,
             responses={200: {"model": FeedbackResponse, "description": "already recorded (same client_key)"},
                        **NOT_FOUND, **RATE_LIMITED})
async def faq_feedback(body: FaqFeedbackRequest, store: StoreDep, response: Response) -> FeedbackResponse:
    """Self-service widget: was the answer helpful. Answered once committed."""
    fields = {"request_id": body.request_id, "client_key": body.client_key, "source": "widget",
              "helpful": body.helpful, "reasons": [body.reason] if body.reason else [],
              "comment": mask_pii(body.comment) if body.comment else None}
    return await _record(store, fields, response)
