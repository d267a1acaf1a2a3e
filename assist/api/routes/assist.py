from __future__ import annotations

import logging
import time

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from assist.api.convert import faq_response, interaction_row, suggest_response
from assist.api.deps import PipelineDep, RequestIdDep, StoreDep
from assist.privacy import mask_pii
from assist.schemas import RATE_LIMITED, FaqRequest, FaqResponse, SuggestRequest, SuggestResponse

router = APIRouter(prefix="/v1", tags=["assist"])
log = logging.getLogger("assist.api")

# The work runs in the thread pool, not on the event loop, so that no request (however
# long its allowed text) holds up the others or /healthz: the GIL is handed over every few
# ms. Scale with `assist serve --workers N` (processes).


@router.post("/suggest", response_model=SuggestResponse)
async def suggest(body: SuggestRequest, pipeline: PipelineDep, store: StoreDep,
                  request_id: RequestIdDep) -> SuggestResponse:
    """Agent sidebar: intent, sentiment, escalation and ranked ready-to-send replies."""
    t0 = time.perf_counter()
    result = await run_in_threadpool(
        pipeline.suggest, body.message,
        history=[t.text for t in body.history if t.role == "customer"],
        context=body.history[-1].text if body.history else None,
        order=body.order.model_dump(exclude_none=True) if body.order else {},
        top_k=body.top_k,
    )
    u = result.understanding
    log.info("suggest", extra={"request_id": request_id, "intent": u.intent.intent if u else None,
                               "escalation": u.escalation.decision if u else None, "text": mask_pii(body.message)[:80]})
    store.record(interaction_row(
        endpoint="suggest", request_id=request_id, text=body.message, result=result, shop=pipeline.kb.shop.id,
        versions=pipeline.versions, latency_ms=(time.perf_counter() - t0) * 1000,
        conversation_id=body.conversation_id, agent_id=body.agent_id))
    return suggest_response(result, request_id=request_id, versions=pipeline.versions)


@router.post("/faq", response_model=FaqResponse, responses=RATE_LIMITED)
async def faq(body: FaqRequest, pipeline: PipelineDep, store: StoreDep, request_id: RequestIdDep) -> FaqResponse:
    """Self-service widget: an answer when confident, otherwise a handoff to a person."""
    t0 = time.perf_counter()
    result = await run_in_threadpool(pipeline.faq, body.question, history=body.history, top_k=body.top_k)
    log.info("faq", extra={"request_id": request_id, "answered": result.decision.answered,
                           "handoff": result.decision.handoff_reason, "text": mask_pii(body.question)[:80]})
    store.record(interaction_row(
        endpoint="faq", request_id=request_id, text=body.question, result=result, shop=pipeline.kb.shop.id,
        versions=pipeline.versions, latency_ms=(time.perf_counter() - t0) * 1000,
        conversation_id=body.conversation_id))
    return faq_response(result, request_id=request_id, versions=pipeline.versions)
