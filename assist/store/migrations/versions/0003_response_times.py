"""response times: interactions keep the SLA deadline of their answer (and the rule it comes
from), feedback the first-response time the agent's client measured

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as t:
        t.add_column(sa.Column("sla_deadline", sa.DateTime(timezone=True)))
        t.add_column(sa.Column("sla_rule", sa.String(64)))
    with op.batch_alter_table("feedback") as t:
        t.add_column(sa.Column("first_response_s", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("feedback") as t:
        t.drop_column("first_response_s")
    with op.batch_alter_table("interactions") as t:
        t.drop_column("sla_rule")
        t.drop_column("sla_deadline")
