"""Policy: when the self-service widget may answer on its own, and when a human takes over.

Pure functions of the ranked hits and the understanding of the message: easy to test and
to tune (answer_threshold is chosen from the retrieval evaluation report).
"""

from __future__ import annotations

from dataclasses import dataclass

from assist.classify.understand import Understanding
from assist.types import Hit

HANDOFF_MESSAGES = {
    "escalation": "亲，非常抱歉给您带来困扰，已为您优先转接专属客服处理，请稍等一下哦～",
    "human_requested": "好的亲，正在为您转接人工客服，请稍等～",
    "low_confidence": "亲，这个问题需要人工客服为您确认一下，已为您转接，请稍等哦～",
    "no_match": "亲，这个问题需要人工客服为您确认一下，已为您转接，请稍等哦～",
}


@dataclass(frozen=True)
class WidgetDecision:
    answered: bool
    hit: Hit | None                 # the FAQ entry answered from (or the closest one on handoff)
    confidence: float
    handoff_reason: str | None      # escalation | human_requested | low_confidence | no_match
    handoff_message: str | None


def widget_decision(hits: list[Hit], understanding: Understanding | None, *, answer_threshold: float) -> WidgetDecision:
    top = hits[0] if hits else None
    confidence = top.similarity if top else 0.0
    reason: str | None = None
    if understanding is not None and understanding.escalation.decision == "escalate":
        reason = "escalation"  # an upset shopper gets a person, however good the FAQ match
    elif understanding is not None and understanding.intent.intent == "human_agent":
        reason = "human_requested"
    elif top is None:
        reason = "no_match"
    elif confidence < answer_threshold:
        reason = "low_confidence"
    if reason is None:
        return WidgetDecision(answered=True, hit=top, confidence=confidence, handoff_reason=None, handoff_message=None)
    return WidgetDecision(answered=False, hit=top, confidence=confidence, handoff_reason=reason,
                          handoff_message=HANDOFF_MESSAGES[reason])
