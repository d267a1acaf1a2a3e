from __future__ import annotations

import logging

from fastapi import APIRouter

from assist.api.convert import faq_response, suggest_response
from assist.api.deps import PipelineDep, RequestIdDep
from assist.privacy import mask_pii
from assist.schemas import ErrorBody, FaqRequest, FaqResponse, SuggestRequest, SuggestResponse

router = APIRouter(prefix="/v1", tags=["assist"])
log = logging.getLogger("assist.api")
ERRORS = {422: {"model": ErrorBody}, 503: {"model": ErrorBody}}

# The handlers are async on purpose although they compute: a request takes a few ms of CPU
# under the GIL, so a thread pool adds hand-off latency without adding throughput. Scale
# with `assist serve --workers N` (processes) instead.


@router.post("/suggest", response_model=SuggestResponse, responses=ERRORS)
async def suggest(body: SuggestRequest, pipeline: PipelineDep, request_id: RequestIdDep) -> SuggestResponse:
    """Agent sidebar: intent, sentiment, escalation and ranked ready-to-send replies."""
    result = pipeline.suggest(
        body.message,
        history=[t.text for t in body.history if t.role == "customer"],
        context=body.history[-1].text if body.history else None,
        order=body.order.model_dump(exclude_none=True) if body.order else {},
        top_k=body.top_k,
    )
    u = result.understanding
    log.info("suggest %s intent=%s escalation=%s msg=%s", request_id,
             u.intent.intent if u else "-", u.escalation.decision if u else "-", mask_pii(body.message[:80]))
    return suggest_response(result, request_id=request_id, versions=pipeline.versions)


@router.post("/faq", response_model=FaqResponse, responses=ERRORS)
async def faq(body: FaqRequest, pipeline: PipelineDep, request_id: RequestIdDep) -> FaqResponse:
    """Self-service widget: an answer when confident, otherwise a handoff to a person."""
    result = pipeline.faq(body.question, history=body.history, top_k=body.top_k)
    log.info("faq %s answered=%s reason=%s msg=%s", request_id, result.decision.answered,
             result.decision.handoff_reason, mask_pii(body.question[:80]))
    return faq_response(result, request_id=request_id, versions=pipeline.versions)
