"""One settings object, read from ASSIST_* environment variables (nested with "__")."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Paths(BaseModel):
    knowledge_dir: Path = ROOT / "knowledge"
    models_dir: Path = ROOT / "models"
    # Built indexes live under here, one folder per kb_version.
    index_dir: Path = ROOT / "models" / "index"
    # The default database (a SQLite file) lives here; created on first start.
    data_dir: Path = ROOT / "var"


class Retrieval(BaseModel):
    candidates: int = Field(default=50, ge=1, le=1000, description="hits kept from each retriever")
    rrf_k: int = Field(default=60, ge=1)
    # Tuned on a dev hold-out of FAQ phrasings (python -m training.eval_retrieval --tune).
    bm25_weight: float = Field(default=1.5, ge=0)
    dense_weight: float = Field(default=1.0, ge=0)
    # One query searches a few thousand vectors: threads only add start-up cost, and on busy
    # cores OpenMP spinning made a search 50x slower (measured in training/eval_qmatch.py).
    faiss_threads: int = Field(default=1, ge=1)
    # Exact dense search below this many phrasings, HNSW above (see retrieval/dense.py).
    hnsw_min_rows: int = Field(default=20000, ge=1)
    hnsw_ef_search: int = Field(default=128, ge=1, le=4096)


class Policy(BaseModel):
    # Widget answers only when the top answer's calibrated confidence is at least this and
    # leads the second by the ranker's margin. None: the threshold chosen on held-out
    # queries when the ranker was trained (models/ranker/thresholds.json).
    answer_threshold: float | None = Field(default=None, ge=0, le=1)
    # Suggestions under this confidence are not shown to the agent.
    suggest_threshold: float = Field(default=0.05, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "Policy":
        if self.answer_threshold is not None and self.suggest_threshold > self.answer_threshold:
            raise ValueError("suggest_threshold must not exceed answer_threshold")
        return self


class Retrain(BaseModel):
    """The promotion gate of `assist retrain` (assist/ops/gate.py)."""
    # How much a guarded figure (macro-F1, accuracy; calibration error) may get worse.
    tolerance: float = Field(default=0.01, ge=0, le=1)
    ece_tolerance: float = Field(default=0.02, ge=0, le=1)
    # For figures over a few dozen cases (the real-traffic dev set's 44 escalations: one is 0.02).
    small_set_tolerance: float = Field(default=0.03, ge=0, le=1)
    # A challenger may be this much slower per message (a share of the champion's p50).
    latency_tolerance: float = Field(default=0.5, ge=0)
    # The share of feedback that never trains: the gate's own-traffic test set.
    holdout_share: float = Field(default=0.2, gt=0, lt=1)
    # Below this many held-out corrections the gate decides on the template test split.
    min_holdout: int = Field(default=5, ge=1)
    # A correction or imported row counts this many times a shipped training message.
    feedback_weight: float = Field(default=3.0, gt=0)


class Models(BaseModel):
    embedding: str = "embedding"  # folder under models_dir, or an absolute path
    intent: str = "intent"
    sentiment: str = "sentiment"
    escalation: str = "escalation"
    ranker: str = "ranker"


PLACEHOLDER_TOKENS = frozenset({"changeme", "change-me", "change_me", "secret", "admin", "token", "password",
                                "example", "test", "xxxxxxxxxxxxxxxx", "please-change-me", "your-admin-token"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSIST_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Every message and history turn, counted after normalization (NFKC can expand a
    # character 18-fold); the wire accepts at most schemas.MAX_WIRE_CHARS before it.
    max_message_chars: int = Field(default=2000, ge=1, le=10000)
    max_body_bytes: int = Field(default=512 * 1024, ge=1024)
    body_timeout_s: float = Field(default=10.0, gt=0)  # the whole body, from the first byte
    # Origins (https://shop.example) whose pages may call the widget endpoints.
    cors_origins: list[str] = []
    # Per client address on the public widget endpoints ("60/minute", "5/second"; limits syntax).
    widget_rate_limit: str = "60/minute"
    # Keep every answer in the interaction log (off: only feedback is stored, and feedback
    # can then name no answer).
    log_interactions: bool = True
    # SQLAlchemy URL, e.g. postgresql+psycopg://user:pass@host/db; default: SQLite in data_dir.
    database_url: str | None = None
    # Bearer token of the operators: it guards /v1/admin/* (off without one) and shows
    # versions and counts in /readyz. Outside development it must not be a placeholder.
    admin_token: SecretStr | None = None
    environment: Literal["development", "production"] = "production"
    paths: Paths = Paths()
    retrieval: Retrieval = Retrieval()
    policy: Policy = Policy()
    models: Models = Models()
    retrain: Retrain = Retrain()

    @field_validator("widget_rate_limit")
    @classmethod
    def _rate(cls, v: str) -> str:
        from limits import parse

        try:
            parse(v)
        except ValueError as e:
            raise ValueError(f"not a rate limit such as '60/minute': {v!r}") from e
        return v

    @model_validator(mode="after")
    def _real_token(self) -> Settings:
        token = self.admin_token.get_secret_value() if self.admin_token else None
        if token is not None and self.environment != "development" and (
                len(token) < 16 or token.lower() in PLACEHOLDER_TOKENS):
            raise ValueError("admin_token looks like a placeholder (under 16 characters or a sample value): "
                             "set a random one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.paths.data_dir / 'assist.db'}"

    def model_root(self, name: str) -> Path:
        """The model's folder: its versions and the pointer to the one in service."""
        p = Path(getattr(self.models, name))
        return p if p.is_absolute() else self.paths.models_dir / p

    def model_path(self, name: str) -> Path:
        """The folder to load for model `name` (a field of Models): the version in service."""
        from assist.ops.registry import resolve

        return resolve(self.model_root(name))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
