"""analytics: interactions keep the escalation route and reasons and the top entry, feedback
the intent of its answer; daily
counts per dimension, kept by the log writer, make a month's report a small query
(answers logged before this revision are not in the counts)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as t:
        t.add_column(sa.Column("route", sa.String(32)))
        t.add_column(sa.Column("reasons", sa.JSON))
        t.add_column(sa.Column("top_entry_id", sa.String(128)))
        t.add_column(sa.Column("top_confidence", sa.Float))
        t.create_index("ix_interactions_top_entry_id", ["top_entry_id"])
    op.create_table(
        "interaction_counts",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("dimension", sa.String(24), primary_key=True),
        sa.Column("value", sa.String(128), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("feedback") as t:
        t.add_column(sa.Column("answer_intent", sa.String(32)))  # the intent of the answer it is about
    op.create_index("ix_feedback_created_at_source", "feedback", ["created_at", "source"])


def downgrade() -> None:
    op.drop_index("ix_feedback_created_at_source", "feedback")
    with op.batch_alter_table("feedback") as t:
        t.drop_column("answer_intent")
    op.drop_table("interaction_counts")
    with op.batch_alter_table("interactions") as t:
        t.drop_index("ix_interactions_top_entry_id")
        for name in ("top_confidence", "top_entry_id", "reasons", "route"):
            t.drop_column(name)
