"""Turn ranked entries into ready-to-send suggestions for the agent.

Every suggestion's score is how likely it fits the message: FAQ answers carry the learned
ranker's calibrated confidence; product sheets their similarity, scaled by how strong their
retrieval was beside the best hit; reply scripts for the predicted intent, which join the
list even when the words did not match (a script is chosen by situation, not by wording),
half the intent's confidence, so a sure FAQ answer comes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assist.knowledge import PLACEHOLDER_RE, KnowledgeBase
from assist.rank.learned import RankedHit
from assist.types import Entry, Hit

SCRIPT_WEIGHT = 0.5  # a script picked by intent ranks like a mid-strength match


@dataclass(frozen=True)
class Source:
    id: str
    kind: str
    title: str
    file: str


@dataclass(frozen=True)
class Suggestion:
    text: str
    entry_id: str
    kind: str
    intent: str | None
    score: float
    confidence: float
    sources: list[Source]
    missing_variables: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.missing_variables


def fill_template(template: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """Fill {placeholders}; unknown ones stay visible and are reported as missing."""
    missing = sorted({m for m in PLACEHOLDER_RE.findall(template) if not values.get(m)})
    text = PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1)) or m.group(0), template)
    return text, missing


def sources_for(entry: Entry, kb: KnowledgeBase) -> list[Source]:
    out = [Source(id=entry.id, kind=entry.kind, title=entry.title, file=entry.source)]
    for rid in entry.meta.get("rule_ids", []) or []:
        rule = kb.rules.get(rid)
        if rule is not None:
            out.append(Source(id=rule.id, kind="rule", title=rule.title, file=kb.sources[rule.id]))
    return out


def rank(faq: list[RankedHit], others: list[Hit], *, kb: KnowledgeBase, scripts_by_intent: dict[str, list[Entry]],
         intent: str | None, intent_confidence: float, values: dict[str, Any], top_k: int) -> list[Suggestion]:
    """faq: FAQ hits in the ranker's order; others: product (and other non-FAQ) hits."""
    best = max((h.score for h in [*(r.hit for r in faq), *others]), default=0.0) or 1.0
    suggestions: dict[str, Suggestion] = {}
    for r in faq:
        suggestions[r.hit.entry.id] = _suggestion(r.hit.entry, kb, values, r.confidence, r.confidence)
    for h in others:
        if h.entry.kind == "rule":
            continue  # rules are cited as sources, never sent to a customer as they are
        suggestions[h.entry.id] = _suggestion(h.entry, kb, values, h.similarity * h.score / best, h.similarity)
    if intent:
        for entry in scripts_by_intent.get(intent, []):
            if entry.id not in suggestions:
                suggestions[entry.id] = _suggestion(entry, kb, values, SCRIPT_WEIGHT * intent_confidence,
                                                    intent_confidence)
    ordered = sorted(suggestions.values(), key=lambda s: (-s.score, not s.ready, s.entry_id))
    return ordered[:top_k]


def _suggestion(entry: Entry, kb: KnowledgeBase, values: dict[str, Any], score: float,
                confidence: float) -> Suggestion:
    if entry.kind == "script":
        text, missing = fill_template(entry.answer, {k: str(v) for k, v in values.items() if v})
    else:
        text, missing = entry.answer, []  # FAQ answers and product sheets are sent as written
    return Suggestion(text=text, entry_id=entry.id, kind=entry.kind, intent=entry.intent,
                      score=round(score, 4), confidence=round(confidence, 4),
                      sources=sources_for(entry, kb), missing_variables=missing)

