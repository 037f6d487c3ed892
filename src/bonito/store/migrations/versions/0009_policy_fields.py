"""routing_policies: every other field of a route (attempt_timeout_s, rules, smart, ...) in `options`

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # null for the policies already stored: those fields take their defaults, as before
    with op.batch_alter_table("routing_policies") as batch:
        batch.add_column(sa.Column("options", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("routing_policies") as batch:
        batch.drop_column("options")
