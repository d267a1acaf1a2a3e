"""The classify stage: intent + phase, sentiment + intensity, and the escalation decision
with its reasons (and the evidence span for each), route, priority and SLA deadline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from assist.classify.models import (
    EscalationModel, IntentModel, IntentPrediction, SentimentModel, SentimentPrediction, Turn,
    build_turns, has_hard_signal,
)
from assist.classify.signals import RiskLexicon
from assist.knowledge import KnowledgeBase
from assist.normalize import TextNormalizer
from assist.privacy import mask_pii
from assist.retrieval.encoder import Encoder

SHOP_TZ = ZoneInfo("Asia/Shanghai")
MAX_HISTORY = 10
REPEAT_SIMILARITY = 0.8
WORSENING_TREND = 0.35
ANGRY_INTENSITY = 0.7

# Which team a reason sends the conversation to, most serious first.
ROUTE_ORDER: list[tuple[str, set[str]]] = [
    ("safety_legal", {"safety", "legal_threat"}),
    ("complaint_team", {"complaint_threat", "counterfeit"}),
    ("supervisor", {"profanity", "supervisor_request", "repeat_issue", "worsening_sentiment"}),
    ("after_sales", {"human_request", "angry_tone"}),
]
PRIORITY = {"safety_legal": "P1", "complaint_team": "P2", "supervisor": "P2", "after_sales": "P3"}


@dataclass(frozen=True)
class Reason:
    code: str
    evidence: str              # the words (or earlier message, masked) that triggered it
    span: tuple[int, int] | None = None   # character span in the normalized message
    detail: str = ""


@dataclass(frozen=True)
class Escalation:
    decision: str              # none | watch | escalate
    probability: float         # p(escalate)
    reasons: list[Reason]
    route: str | None
    priority: str | None
    sla_deadline: str | None   # ISO timestamp in the shop's time zone
    sla_rule: str | None


@dataclass(frozen=True)
class Understanding:
    intent: IntentPrediction
    sentiment: SentimentPrediction
    escalation: Escalation


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """Deadline `days` working days (Mon–Fri) after start; public holidays are not modelled."""
    out = start
    while days > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


class Understander:
    def __init__(self, *, intent: IntentModel, sentiment: SentimentModel, escalation: EscalationModel,
                 lexicon: RiskLexicon, normalizer: TextNormalizer, encoder: Encoder, kb: KnowledgeBase):
        self.intent = intent
        self.sentiment = sentiment
        self.escalation = escalation
        self.lexicon = lexicon
        self.normalizer = normalizer
        self.encoder = encoder
        self.kb = kb

    @property
    def versions(self) -> dict[str, str]:
        return {"intent": self.intent.version, "sentiment": self.sentiment.version,
                "escalation": self.escalation.version}

    def understand(self, text: str, history: list[str], *, embedding: np.ndarray | None = None,
                   now: dt.datetime | None = None) -> Understanding:
        history = history[-MAX_HISTORY:]
        # Models were trained on embeddings of the canonical text, so embed the same here.
        if embedding is None:
            embedding = self.encoder.encode([self.normalizer.canonical(text)])[0]
        hist_vecs = (self.encoder.encode([self.normalizer.canonical(h) for h in history]) if history
                     else np.zeros((0, embedding.shape[0]), np.float32))
        turns = build_turns([text, *history], self.lexicon, self.sentiment,
                            np.vstack([embedding.reshape(1, -1), hist_vecs]))
        turn, past = turns[0], turns[1:]
        intent = self.intent.predict(text, embedding)
        probs = self.escalation.probabilities(turn, past)
        decision = self.escalation.decide(probs, hard_signal=has_hard_signal(turn))
        reasons = self._reasons(turn, past, intent) if decision != "none" else []
        route = self._route(reasons) if decision != "none" else None
        priority = PRIORITY[route] if route else None
        if decision == "watch" and priority:
            priority = {"P1": "P2", "P2": "P3", "P3": "P4"}[priority]
        deadline, rule_id = self._sla(intent.intent, route, now)
        return Understanding(
            intent=intent, sentiment=turn.sentiment,
            escalation=Escalation(decision=decision, probability=round(probs.get("escalate", 0.0), 4),
                                  reasons=reasons, route=route, priority=priority,
                                  sla_deadline=deadline, sla_rule=rule_id),
        )

    def _reasons(self, turn: Turn, past: list[Turn], intent: IntentPrediction) -> list[Reason]:
        reasons = [Reason(code=s.signal, evidence=s.evidence, span=(s.start, s.end)) for s in turn.signals]
        codes = {r.code for r in reasons}
        if intent.intent == "human_agent" and "human_request" not in codes:
            reasons.append(Reason(code="human_request", evidence=mask_pii(turn.text), detail="intent human_agent"))
        if past:
            sims = [float(turn.embedding @ h.embedding) for h in past]
            best = int(np.argmax(sims))
            if sims[best] >= REPEAT_SIMILARITY:
                reasons.append(Reason(code="repeat_issue", evidence=mask_pii(past[best].text),
                                      detail=f"similarity {sims[best]:.2f} to an earlier message"))
            neg_hist = [h.sentiment.probabilities.get("negative", 0.0) for h in past]
            trend = turn.sentiment.probabilities.get("negative", 0.0) - float(np.mean(neg_hist))
            if trend >= WORSENING_TREND:
                reasons.append(Reason(code="worsening_sentiment", evidence=mask_pii(turn.text),
                                      detail=f"negative probability up {trend:.2f} on the conversation so far"))
        if turn.sentiment.intensity >= ANGRY_INTENSITY or not reasons:
            reasons.append(Reason(code="angry_tone", evidence=mask_pii(turn.text),
                                  detail=f"intensity {turn.sentiment.intensity:.2f}"))
        return reasons

    @staticmethod
    def _route(reasons: list[Reason]) -> str:
        codes = {r.code for r in reasons}
        for route, triggers in ROUTE_ORDER:
            if codes & triggers:
                return route
        return "after_sales"

    def _sla(self, intent: str, route: str | None, now: dt.datetime | None) -> tuple[str | None, str | None]:
        # Complaints, threats and safety issues follow the complaint SLA; otherwise the intent's.
        key = "complaint" if route in {"safety_legal", "complaint_team", "supervisor"} else intent
        found = self.kb.sla_for(key)
        if found is None:
            return None, None
        rule, days = found
        start = (now or dt.datetime.now(SHOP_TZ)).astimezone(SHOP_TZ)
        return add_working_days(start, days).isoformat(timespec="minutes"), rule.id
