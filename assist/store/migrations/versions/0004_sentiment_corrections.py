"""sentiment corrections: an agent may say what the customer's mood really was, so the
sentiment model can be retrained from feedback like intent and escalation

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as t:
        t.add_column(sa.Column("corrected_sentiment", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("feedback") as t:
        t.drop_column("corrected_sentiment")
