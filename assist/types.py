"""Frozen dataclasses shared by the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EntryKind = Literal["faq", "product", "rule", "script"]

INTENT_PHASES: dict[str, str] = {
    **dict.fromkeys(
        ["greeting", "product_info", "size_advice", "stock_availability", "price_bargain",
         "promotion_coupon", "authenticity", "shipping_policy", "payment"], "pre_sale"),
    **dict.fromkeys(["logistics_status", "modify_order", "cancel_order"], "in_sale"),
    **dict.fromkeys(
        ["return_exchange", "refund_status", "wrong_missing_item", "quality_issue",
         "repair_warranty", "invoice", "complaint"], "after_sale"),
    **dict.fromkeys(["praise", "human_agent", "other"], "general"),
}
INTENTS: tuple[str, ...] = tuple(INTENT_PHASES)

# Kinds of risky wording listed in knowledge/lexicon/risk_terms.tsv.
RISK_SIGNALS: tuple[str, ...] = ("complaint_threat", "legal_threat", "safety", "counterfeit", "profanity",
                                 "human_request", "supervisor_request", "repeat_contact", "service_contempt")


@dataclass(frozen=True)
class Entry:
    """One piece of knowledge the engine can retrieve and turn into a reply."""

    id: str
    kind: EntryKind
    title: str                 # canonical question / product title / rule title / script scene
    texts: tuple[str, ...]     # what customer messages are matched against
    answer: str                # the reply (FAQ answer, product facts, rule text, script template)
    source: str                # file it came from, relative to the knowledge folder
    intent: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Hit:
    """A retrieved entry. `score` orders hits; `similarity` (cosine of the closest phrasing,
    0..1) is what confidence is built from; `matched` is that phrasing."""

    entry: Entry
    score: float
    similarity: float
    matched: str
    lexical_rank: int | None = None
    dense_rank: int | None = None
    lexical_score: float = 0.0       # BM25 score of the entry's best phrasing
    title_similarity: float = 0.0    # cosine to the entry's title (its canonical question)
    answer_similarity: float = 0.0   # cosine to the entry's answer
