"""Pipeline results → wire models, and → interaction-log rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from assist.classify.understand import Understanding
from assist.normalize import Message
from assist.pipeline import FaqResult, SuggestResult
from assist.privacy import mask_pii
from assist.rank import Source
from assist.schemas import (
    BoilerplateOut,
    EscalationOut,
    FaqResponse,
    HandoffOut,
    IntentOut,
    MessageOut,
    ReasonOut,
    RelatedOut,
    SentimentOut,
    SourceOut,
    SuggestionOut,
    SuggestResponse,
)


def _respan(span: tuple[int, int] | None, evidence: str, original: str, masked: str) -> tuple[int, int] | None:
    """The evidence's span in the masked text (masks change lengths): the occurrence of the
    same words nearest to where they were."""
    if span is None or masked == original:
        return span
    starts = [i for i in range(len(masked)) if masked.startswith(evidence, i)]
    if not starts:
        return None
    best = min(starts, key=lambda i: abs(i - span[0]))
    return best, best + len(evidence)


def _understanding(u: Understanding | None, m: Message) -> tuple[IntentOut | None, SentimentOut | None, EscalationOut | None]:
    if u is None:
        return None, None, None
    e = u.escalation
    masked = mask_pii(m.text)
    return (
        IntentOut(id=u.intent.intent, phase=u.intent.phase, confidence=round(u.intent.confidence, 4),
                  alternatives=[{"id": i, "confidence": round(p, 4)} for i, p in u.intent.alternatives],
                  abstained=u.intent.abstained),
        SentimentOut(label=u.sentiment.label,  # type: ignore[arg-type]
                     probabilities={k: round(v, 4) for k, v in u.sentiment.probabilities.items()},
                     intensity=round(u.sentiment.intensity, 3)),
        # evidence is masked where it is made (classify); spans follow the masked text
        EscalationOut(decision=e.decision, probability=e.probability,  # type: ignore[arg-type]
                      reasons=[ReasonOut(code=r.code, evidence=r.evidence, span=_respan(r.span, r.evidence, m.text, masked),
                                         detail=r.detail) for r in e.reasons],
                      route=e.route, priority=e.priority, sla_deadline=e.sla_deadline, sla_rule=e.sla_rule),  # type: ignore[arg-type]
    )


def _message(m: Message) -> MessageOut:
    """Personal data masked, like everything that leaves the service."""
    return MessageOut(text=mask_pii(m.text), boilerplate=[BoilerplateOut(kind=k, text=mask_pii(t)) for k, t in m.boilerplate],
                      placeholders=list(m.placeholders))


def _source(s: Source) -> SourceOut:
    return SourceOut(id=s.id, kind=s.kind, title=s.title, file=s.file)


def suggest_response(result: SuggestResult, *, request_id: str, versions: dict[str, str]) -> SuggestResponse:
    intent, sentiment, escalation = _understanding(result.understanding, result.message)
    return SuggestResponse(
        request_id=request_id, intent=intent, sentiment=sentiment, escalation=escalation,
        suggestions=[
            SuggestionOut(rank=i, text=s.text, kind=s.kind, entry_id=s.entry_id, intent=s.intent,
                          confidence=s.confidence, score=s.score, ready=s.ready,
                          missing_variables=s.missing_variables, sources=[_source(x) for x in s.sources])
            for i, s in enumerate(result.suggestions, 1)
        ],
        message=_message(result.message), entities=result.entities, versions=versions, timings_ms=result.timings_ms,
    )


def faq_response(result: FaqResult, *, request_id: str, versions: dict[str, str]) -> FaqResponse:
    intent, sentiment, escalation = _understanding(result.understanding, result.message)
    d = result.decision
    return FaqResponse(
        request_id=request_id, answered=d.answered,
        answer=d.hit.entry.answer if d.answered and d.hit else None,
        confidence=round(d.confidence, 4),
        source=_source(result.sources[0]) if d.answered and result.sources else None,
        handoff=HandoffOut(reason=d.handoff_reason, message=d.handoff_message)  # type: ignore[arg-type]
        if d.handoff_reason and d.handoff_message else None,
        intent=intent, sentiment=sentiment, escalation=escalation,
        related=[RelatedOut(entry_id=r.hit.entry.id, question=r.hit.entry.title, confidence=round(r.confidence, 4))
                 for r in result.related],
        message=_message(result.message),
        versions=versions,
    )


def interaction_row(*, endpoint: str, request_id: str, text: str, result: SuggestResult | FaqResult, shop: str,
                    versions: dict[str, str], latency_ms: float, conversation_id: str | None = None,
                    agent_id: str | None = None) -> dict[str, Any]:
    """What the log keeps of one answer (store.tables.Interaction), personal data masked."""
    u = result.understanding
    if isinstance(result, SuggestResult):
        shown = [{"rank": i, "entry_id": x.entry_id, "kind": x.kind, "confidence": round(x.confidence, 4)}
                 for i, x in enumerate(result.suggestions, 1)]
        answered = handoff = None
    else:
        shown = [{"rank": i, "entry_id": r.hit.entry.id, "kind": "faq", "confidence": round(r.confidence, 4)}
                 for i, r in enumerate(result.related, 1)]
        answered, handoff = result.decision.answered, result.decision.handoff_reason
    return {
        "request_id": request_id, "endpoint": endpoint, "created_at": dt.datetime.now(dt.UTC),
        "shop": shop, "conversation_id": conversation_id, "agent_id": agent_id, "message": mask_pii(text),
        "intent": u.intent.intent if u else None, "intent_confidence": round(u.intent.confidence, 4) if u else None,
        "sentiment": u.sentiment.label if u else None,
        "sentiment_probabilities": {k: round(v, 4) for k, v in u.sentiment.probabilities.items()} if u else None,
        "escalation": u.escalation.decision if u else None,
        "escalation_probability": u.escalation.probability if u else None,
        "route": u.escalation.route if u else None,
        "reasons": [r.code for r in u.escalation.reasons] if u else None,
        "top_entry_id": shown[0]["entry_id"] if shown else None,
        "top_confidence": shown[0]["confidence"] if shown else None,
        "suggestions": shown, "answered": answered, "handoff_reason": handoff, "versions": versions,
        "latency_ms": round(latency_ms, 3),
        # In UTC like every other time stored (SQLite keeps the wall clock only).
        "sla_deadline": (dt.datetime.fromisoformat(u.escalation.sla_deadline).astimezone(dt.UTC)
                         if u and u.escalation.sla_deadline else None),
        "sla_rule": u.escalation.sla_rule if u else None,
    }
