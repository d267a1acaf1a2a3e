"""Policy: when the self-service widget may answer on its own, and when a human takes over.

Pure functions of the ranked hits and the understanding of the message: easy to test and
to tune. The widget answers only when the ranker's calibrated confidence in its top entry
reaches answer_threshold, the top entry leads the second by min_margin, and its best
phrasing is at least min_similarity alike; all are chosen on a dev set of new and
out-of-scope questions when the ranker is trained (training/ranker.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from assist.classify.understand import Understanding
from assist.rank.learned import RankedHit
from assist.types import Hit

HANDOFF_MESSAGES = {
    "escalation": "亲，非常抱歉给您带来困扰，已为您优先转接专属客服处理，请稍等一下哦～",
    "human_requested": "好的亲，正在为您转接人工客服，请稍等～",
    "low_confidence": "亲，这个问题需要人工客服为您确认一下，已为您转接，请稍等哦～",
    "ambiguous": "亲，这个问题需要人工客服为您确认一下，已为您转接，请稍等哦～",
    "no_match": "亲，这个问题需要人工客服为您确认一下，已为您转接，请稍等哦～",
}


@dataclass(frozen=True)
class WidgetDecision:
    answered: bool
    hit: Hit | None                 # the FAQ entry answered from (or the closest one on handoff)
    confidence: float
    handoff_reason: str | None      # escalation | human_requested | low_confidence | ambiguous | no_match
    handoff_message: str | None


def widget_decision(ranked: list[RankedHit], understanding: Understanding | None, *, answer_threshold: float,
                    min_margin: float, margin: float, min_similarity: float = 0.0,
                    asked_for_human: bool = False) -> WidgetDecision:
    """ranked: FAQ candidates in the ranker's order; margin: the ranker's lead of the first
    over the second. asked_for_human: the message carried a request for a person
    (我要转人工 …) beside a question; the shopper said what they want, so a person takes over."""
    top = ranked[0].hit if ranked else None
    confidence = ranked[0].confidence if ranked else 0.0
    reason: str | None = None
    if understanding is not None and understanding.escalation.decision == "escalate":
        reason = "escalation"  # an upset shopper gets a person, however good the FAQ match
    elif asked_for_human or (understanding is not None and understanding.intent.intent == "human_agent"):
        reason = "human_requested"
    elif top is None:
        reason = "no_match"
    elif confidence < answer_threshold or top.similarity < min_similarity:
        reason = "low_confidence"
    elif margin < min_margin:
        reason = "ambiguous"  # two entries fit about equally: a person picks
    if reason is None:
        return WidgetDecision(answered=True, hit=top, confidence=confidence, handoff_reason=None, handoff_message=None)
    return WidgetDecision(answered=False, hit=top, confidence=confidence, handoff_reason=reason,
                          handoff_message=HANDOFF_MESSAGES[reason])
