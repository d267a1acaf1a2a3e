"""The classify stage: intent + phase, sentiment + intensity, and the escalation decision
with its reasons (and the evidence span for each), route, priority and SLA deadline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from assist.classify.models import (
    HARD_SIGNALS,
    REPEAT_SIMILARITY,
    EscalationModel,
    IntentModel,
    IntentPrediction,
    SentimentModel,
    SentimentPrediction,
    Turn,
    build_turns,
    has_hard_signal,
    negative_trend,
    repeat_similarity,
)
from assist.classify.signals import RiskLexicon
from assist.knowledge import KnowledgeBase
from assist.normalize import Message
from assist.privacy import mask_pii

SHOP_TZ = ZoneInfo("Asia/Shanghai")
MAX_HISTORY = 10
WORSENING_TREND = 0.35
# The message's own tone as evidence: chosen on the escalation train split, where an
# intensity of 0.7 kept 77 % of escalations and 0.6 keeps 95 % at the same precision. (A
# merely negative message is not angry: flat problem reports are negative too.)
ANGRY_INTENSITY = 0.6
NEGATIVE = 0.5  # p(negative) from which a message states a problem
ANGRY_NEGATIVE = 0.7  # a worsening mood counts once the message itself is clearly negative

# Which team a reason sends the conversation to, most serious first.
ROUTE_ORDER: list[tuple[str, set[str]]] = [
    ("safety_legal", {"safety", "legal_threat"}),
    ("complaint_team", {"complaint_threat", "counterfeit", "service_contempt"}),
    ("supervisor", {"profanity", "supervisor_request", "repeat_contact", "repeat_issue", "worsening_sentiment"}),
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


# Alone, these are too weak to escalate on real chats: the two read from the history (a
# shopper re-asking an unanswered question in the same chat, a sentiment model misreading an
# order card), and a plain request for a person (the labelling guide's "escalate" is a
# threat, harm, anger or repeat contact, not 转人工). They are shown and make a watch.
SOFT_REASONS = frozenset({"repeat_issue", "worsening_sentiment", "human_request"})
CARRY_TURNS = 2  # a hard signal this many turns back still counts while the customer stays upset
CARRY_INTENSITY = 0.45  # upset, not merely reporting a problem (开关坏了 怎么修 is ~0.4)


def evidence_rule(decision: str, reasons: list[Reason], turn: Turn) -> str:
    """An escalation needs evidence: without any reason it is at most a watch, and only
    when the message itself is negative; with only soft reasons it is a watch."""
    if decision == "none":
        return decision
    if not reasons:
        return "watch" if turn.sentiment.probabilities.get("negative", 0.0) >= NEGATIVE else "none"
    if decision == "escalate" and all(r.code in SOFT_REASONS for r in reasons):
        return "watch"
    return decision


def carried_signals(turn: Turn, past: list[Turn]) -> list[Reason]:
    """Hard signals of the customer's last turns (都说了三遍了, a 差评 threat) that still hold:
    the issue is not settled while the customer is still clearly upset now."""
    if turn.sentiment.probabilities.get("negative", 0.0) < NEGATIVE or turn.sentiment.intensity < CARRY_INTENSITY:
        return []
    now = {s.signal for s in turn.signals}
    out: list[Reason] = []
    for back, h in enumerate(reversed(past[-CARRY_TURNS:]), 1):
        if not has_hard_signal(h):
            continue
        for s in h.signals:
            if s.signal in HARD_SIGNALS and s.signal not in now and s.signal not in {r.code for r in out}:
                out.append(Reason(code=s.signal, evidence=mask_pii(h.text),
                                  detail=f"said {back} message(s) earlier ({s.evidence}); still upset"))
    return out


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """Deadline `days` working days (Mon–Fri) after start; public holidays are not modelled."""
    out = start
    while days > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            days -= 1
    return out


class Understander:
    """Reads parsed messages (normalize.Message, with embeddings); never parses again."""

    def __init__(self, *, intent: IntentModel, sentiment: SentimentModel, escalation: EscalationModel,
                 lexicon: RiskLexicon, kb: KnowledgeBase):
        self.intent = intent
        self.sentiment = sentiment
        self.escalation = escalation
        self.lexicon = lexicon
        self.kb = kb

    @property
    def versions(self) -> dict[str, str]:
        return {"intent": self.intent.version, "sentiment": self.sentiment.version,
                "escalation": self.escalation.version}

    def understand(self, message: Message, history: list[Message], *, context: Message | None = None,
                   now: dt.datetime | None = None) -> Understanding:
        """history: the customer's earlier messages, oldest first; context: the turn just
        before this message, of either side (the agent's question, when there is one)."""
        turns = build_turns([message, *history[-MAX_HISTORY:]], self.lexicon, self.sentiment)
        turn, past = turns[0], turns[1:]
        intent = self.intent.predict(message, context, history[-1] if history else None)
        probs = self.escalation.probabilities(turn, past)
        carried = carried_signals(turn, past)
        decision = self.escalation.decide(probs, hard_signal=has_hard_signal(turn) or bool(carried))
        reasons = self._reasons(turn, past, intent) + carried if decision != "none" else []
        decision = evidence_rule(decision, reasons, turn)
        route = self._route(reasons) if decision != "none" else None
        priority = PRIORITY[route] if route else None
        if decision == "watch" and priority:
            priority = {"P1": "P2", "P2": "P3", "P3": "P4"}[priority]
        deadline, rule_id = self._sla(intent.intent, route, now)
        return Understanding(
            intent=intent, sentiment=turn.sentiment,
            escalation=Escalation(decision=decision, probability=round(probs.get("escalate", 0.0), 4),
                                  reasons=reasons if decision != "none" else [], route=route, priority=priority,
                                  sla_deadline=deadline, sla_rule=rule_id),
        )

    def _reasons(self, turn: Turn, past: list[Turn], intent: IntentPrediction) -> list[Reason]:
        """Each reason carries its evidence: words of this message, or (for the history's
        explicit signals) the earlier message it repeats or the mood trend per turn."""
        reasons = [Reason(code=s.signal, evidence=s.evidence, span=(s.start, s.end)) for s in turn.signals]
        codes = {r.code for r in reasons}
        if intent.intent == "human_agent" and "human_request" not in codes:
            reasons.append(Reason(code="human_request", evidence=mask_pii(turn.text), detail="intent human_agent"))
        negative = turn.sentiment.probabilities.get("negative", 0.0)
        if past and negative >= NEGATIVE:  # a thank-you that resembles an earlier message repeats nothing
            best, sim = repeat_similarity(turn, past)
            if sim >= REPEAT_SIMILARITY:
                reasons.append(Reason(code="repeat_issue", evidence=mask_pii(past[best].text),
                                      detail=f"similarity {sim:.2f} to an earlier message"))
            trend = negative_trend(turn, past)
            if trend >= WORSENING_TREND and negative >= ANGRY_NEGATIVE:
                reasons.append(Reason(code="worsening_sentiment", evidence=mask_pii(turn.text),
                                      detail=f"negative probability up {trend:.2f}, turn by turn"))
        if turn.sentiment.intensity >= ANGRY_INTENSITY:
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
