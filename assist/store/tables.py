"""The tables. Every text a customer or agent wrote is stored masked (assist/privacy.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Interaction(Base):
    """One /v1/suggest or /v1/faq call: what was asked and what the service answered."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(String(16))  # suggest | faq
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    shop: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(32))
    intent_confidence: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_probabilities: Mapped[dict[str, float] | None] = mapped_column(JSON)
    escalation: Mapped[str | None] = mapped_column(String(16))
    escalation_probability: Mapped[float | None] = mapped_column(Float)
    route: Mapped[str | None] = mapped_column(String(32))  # where an escalation or watch was sent
    reasons: Mapped[list[str] | None] = mapped_column(JSON)  # its reason codes
    top_entry_id: Mapped[str | None] = mapped_column(String(128), index=True)  # the first suggestion / answer
    top_confidence: Mapped[float | None] = mapped_column(Float)
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # rank, entry_id, kind, confidence
    answered: Mapped[bool | None] = mapped_column(Boolean)  # the widget's decision (faq only)
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    versions: Mapped[dict[str, str]] = mapped_column(JSON)
    latency_ms: Mapped[float] = mapped_column(Float)
    sla_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # when the shop must have answered
    sla_rule: Mapped[str | None] = mapped_column(String(64))


class InteractionCount(Base):
    """How many answers of a day had each value of each dimension (endpoint, intent,
    top_entry, escalation, route, reason, answered, handoff): kept by the log writer in the
    same transaction as the rows, so a month's report reads a few thousand counts."""

    __tablename__ = "interaction_counts"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(24), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class Feedback(Base):
    """What an agent did with a suggestion (sidebar), or what a shopper said of a widget
    answer. client_key makes a repeated submission the same row."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("interactions.request_id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # sidebar | widget
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    rank: Mapped[int | None] = mapped_column(Integer)
    entry_id: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str | None] = mapped_column(String(16))  # accepted | edited | rejected
    helpful: Mapped[bool | None] = mapped_column(Boolean)
    edited_text: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    corrected_intent: Mapped[str | None] = mapped_column(String(32))
    answer_intent: Mapped[str | None] = mapped_column(String(32))  # the intent the service gave the answer
    corrected_escalation: Mapped[str | None] = mapped_column(String(16))
    corrected_sentiment: Mapped[str | None] = mapped_column(String(16))
    # Seconds from the customer's message to the agent's reply, as the agent's client measured it.
    first_response_s: Mapped[float | None] = mapped_column(Float)
    agent_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_feedback_created_at_source", "created_at", "source"),)
