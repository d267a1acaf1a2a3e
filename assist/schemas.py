"""Wire models for the HTTP API: strict on the way in (unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assist.types import INTENTS

# The wire's bounds. The service's own limit (ASSIST_MAX_MESSAGE_CHARS, default 2000) is
# checked after normalization, and only the last MAX_HISTORY of the history is read.
MAX_WIRE_CHARS = 10000
MAX_HISTORY_TURNS = 50


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be blank")
    return v


class HistoryTurn(_In):
    role: Literal["customer", "agent"]
    text: str = Field(min_length=1, max_length=MAX_WIRE_CHARS)


class OrderContext(_In):
    """What the agent's workbench knows about the order in question (all optional)."""

    order_id: str | None = Field(default=None, pattern=r"^[0-9A-Za-z-]{4,40}$")
    status: Literal["unpaid", "paid", "shipped", "delivered", "completed", "refunding", "closed"] | None = None
    sku: str | None = Field(default=None, max_length=40)
    product_title: str | None = Field(default=None, max_length=200)
    courier: str | None = Field(default=None, max_length=40)
    tracking_no: str | None = Field(default=None, max_length=40)
    ship_date: str | None = Field(default=None, max_length=40)
    customer_name: str | None = Field(default=None, max_length=40)
    amount: str | None = Field(default=None, max_length=20)
    refund_days: str | None = Field(default=None, max_length=10)


# Ids a client chooses (conversation, agent, request, idempotency key): plain tokens.
TOKEN = r"^[A-Za-z0-9._:-]{1,64}$"


class SuggestRequest(_In):
    message: str = Field(min_length=1, max_length=MAX_WIRE_CHARS, description="the customer's latest message "
                         "(at most ASSIST_MAX_MESSAGE_CHARS, default 2000, after normalization)")
    history: list[HistoryTurn] = Field(default=[], max_length=MAX_HISTORY_TURNS, description="earlier turns, oldest first")
    order: OrderContext | None = None
    top_k: int = Field(default=3, ge=1, le=10)
    conversation_id: str | None = Field(default=None, pattern=TOKEN, description="the chat, to group its turns in the log")
    agent_id: str | None = Field(default=None, pattern=TOKEN)

    _blank = field_validator("message")(_not_blank)


class FaqRequest(_In):
    question: str = Field(min_length=1, max_length=MAX_WIRE_CHARS,
                          description="at most ASSIST_MAX_MESSAGE_CHARS (default 2000) after normalization")
    history: list[Annotated[str, Field(min_length=1, max_length=MAX_WIRE_CHARS)]] = Field(
        default=[], max_length=MAX_HISTORY_TURNS, description="the shopper's earlier messages, oldest first")
    top_k: int = Field(default=3, ge=1, le=10)
    conversation_id: str | None = Field(default=None, pattern=TOKEN)

    _blank = field_validator("question")(_not_blank)


class FeedbackRequest(_In):
    """What the agent did with one suggestion of a /v1/suggest answer."""

    request_id: str = Field(pattern=TOKEN, description="the request_id of the /v1/suggest answer")
    client_key: str = Field(pattern=TOKEN, description="the client's key for this feedback: sent twice, it is one row")
    rank: int | None = Field(default=None, ge=1, le=10, description="which suggestion (or entry_id)")
    entry_id: str | None = Field(default=None, max_length=128)
    action: Literal["accepted", "edited", "rejected"]
    edited_text: str | None = Field(default=None, min_length=1, max_length=MAX_WIRE_CHARS,
                                    description="what was sent instead (stored masked); needed for edited")
    reasons: list[Literal["wrong_intent", "wrong_answer", "outdated", "tone", "other"]] = Field(default=[], max_length=5)
    comment: str | None = Field(default=None, min_length=1, max_length=2000)
    corrected_intent: Literal[*INTENTS] | None = None  # type: ignore[valid-type]
    corrected_escalation: Literal["none", "watch", "escalate"] | None = None
    corrected_sentiment: Literal["negative", "neutral", "positive"] | None = None
    first_response_s: float | None = Field(default=None, ge=0, le=30 * 86400,
                                           description="seconds from the customer's message to the agent's reply, "
                                                       "as the client measured it (for the response-time report)")
    agent_id: str | None = Field(default=None, pattern=TOKEN)

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackRequest:
        if self.rank is None and self.entry_id is None:
            raise ValueError("name the suggestion: rank or entry_id")
        if self.action == "edited" and not self.edited_text:
            raise ValueError("an edited suggestion needs edited_text")
        return self


class FaqFeedbackRequest(_In):
    """A shopper's verdict on a /v1/faq answer."""

    request_id: str = Field(pattern=TOKEN, description="the request_id of the /v1/faq answer")
    client_key: str = Field(pattern=TOKEN, description="the client's key for this feedback: sent twice, it is one row")
    helpful: bool
    reason: Literal["wrong_answer", "not_answered", "outdated", "unclear", "other"] | None = None
    comment: str | None = Field(default=None, min_length=1, max_length=2000)


class FeedbackResponse(BaseModel):
    feedback_id: int
    request_id: str
    duplicate: bool = Field(description="this client_key was already recorded: nothing new was stored")


class IntentOut(BaseModel):
    id: str
    phase: str
    confidence: float
    alternatives: list[dict[str, float | str]]
    abstained: bool = Field(default=False, description="too unsure to name an intent: `other`, with the likely ones as alternatives")


class BoilerplateOut(BaseModel):
    kind: str
    text: str


class MessageOut(BaseModel):
    """How the message was read: evidence spans index into `text`."""

    text: str = Field(description="normalized, with platform boilerplate set aside")
    boilerplate: list[BoilerplateOut] = Field(description="menu strings, order cards, emoji codes that were set aside")
    placeholders: list[str] = Field(description="kinds of export placeholders seen ([订单x] → order …)")


class SentimentOut(BaseModel):
    label: Literal["negative", "neutral", "positive"]
    probabilities: dict[str, float]
    intensity: float


class ReasonOut(BaseModel):
    code: str
    evidence: str
    span: tuple[int, int] | None
    detail: str


class EscalationOut(BaseModel):
    decision: Literal["none", "watch", "escalate"]
    probability: float
    reasons: list[ReasonOut]
    route: Literal["after_sales", "complaint_team", "supervisor", "safety_legal"] | None
    priority: str | None
    sla_deadline: str | None
    sla_rule: str | None


class SourceOut(BaseModel):
    id: str
    kind: str
    title: str
    file: str


class SuggestionOut(BaseModel):
    rank: int
    text: str
    kind: str
    entry_id: str
    intent: str | None
    confidence: float
    score: float
    ready: bool
    missing_variables: list[str]
    sources: list[SourceOut]


class SuggestResponse(BaseModel):
    request_id: str
    intent: IntentOut | None
    sentiment: SentimentOut | None
    escalation: EscalationOut | None
    suggestions: list[SuggestionOut]
    message: MessageOut
    entities: dict[str, list[str]]
    versions: dict[str, str]
    timings_ms: dict[str, float]


class RelatedOut(BaseModel):
    entry_id: str
    question: str
    confidence: float


class HandoffOut(BaseModel):
    reason: Literal["escalation", "human_requested", "low_confidence", "ambiguous", "no_match"]
    message: str


class FaqResponse(BaseModel):
    request_id: str
    answered: bool
    answer: str | None
    confidence: float
    source: SourceOut | None
    handoff: HandoffOut | None
    intent: IntentOut | None
    sentiment: SentimentOut | None
    escalation: EscalationOut | None
    related: list[RelatedOut]
    message: MessageOut
    versions: dict[str, str]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, object]] = []
    request_id: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


_ERRORS = {400: "the body is not valid JSON or UTF-8", 408: "the body did not arrive in time",
           413: "the body is over the size limit", 422: "a field is missing, unknown, too long or empty",
           500: "an internal error (logged with the request id)", 503: "models are loading: retry after Retry-After"}
# Every status the API answers with besides 200, in the one error body.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ERRORS.items()}
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "no answer has this request_id"}}
RATE_LIMITED: dict[int | str, dict[str, object]] = {
    429: {"model": ErrorBody, "description": "too many requests from this client: retry after Retry-After"}}
ADMIN_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "no admin token"},
    403: {"model": ErrorBody, "description": "a wrong admin token"},
    404: {"model": ErrorBody, "description": "the admin endpoints are off (no ASSIST_ADMIN_TOKEN)"},
    409: {"model": ErrorBody, "description": "reload refused: broken knowledge or models, listed in details; "
                                             "the old ones keep serving"}}
