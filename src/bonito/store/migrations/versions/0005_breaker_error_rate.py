"""routing_policies: the circuit breaker's optional error-rate rule (error_rate, window_s, min_requests)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server defaults fill the policies already stored: rate rule off, BreakerConfig's window and minimum
    with op.batch_alter_table("routing_policies") as batch:
        batch.add_column(sa.Column("breaker_error_rate", sa.Float))
        batch.add_column(sa.Column("breaker_window_s", sa.Float, nullable=False, server_default=sa.text("60")))
        batch.add_column(sa.Column("breaker_min_requests", sa.Integer, nullable=False, server_default=sa.text("20")))


def downgrade() -> None:
    with op.batch_alter_table("routing_policies") as batch:
        batch.drop_column("breaker_min_requests")
        batch.drop_column("breaker_window_s")
        batch.drop_column("breaker_error_rate")
