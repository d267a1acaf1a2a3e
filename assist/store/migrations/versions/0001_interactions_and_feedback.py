"""interactions and feedback

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("endpoint", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("shop", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(64), index=True),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("intent", sa.String(32)),
        sa.Column("intent_confidence", sa.Float),
        sa.Column("sentiment", sa.String(16)),
        sa.Column("sentiment_probabilities", sa.JSON),
        sa.Column("escalation", sa.String(16)),
        sa.Column("escalation_probability", sa.Float),
        sa.Column("suggestions", sa.JSON, nullable=False),
        sa.Column("answered", sa.Boolean),
        sa.Column("handoff_reason", sa.String(32)),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_key", sa.String(64), nullable=False, unique=True),
        sa.Column("request_id", sa.String(64), sa.ForeignKey("interactions.request_id"), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("rank", sa.Integer),
        sa.Column("entry_id", sa.String(128)),
        sa.Column("action", sa.String(16)),
        sa.Column("helpful", sa.Boolean),
        sa.Column("edited_text", sa.Text),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("corrected_intent", sa.String(32)),
        sa.Column("corrected_escalation", sa.String(16)),
        sa.Column("agent_id", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("interactions")
