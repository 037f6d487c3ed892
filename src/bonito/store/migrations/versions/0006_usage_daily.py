"""usage_daily: the daily usage rollup on PostgreSQL, kept by the same trigger and summed from usage_hourly

A month of analytics reads ~30 daily rows per dimension group instead of ~720 hourly ones.
SQLite keeps the hourly tier only (see bonito.store.rollup).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from bonito.store.types import PicoUSD

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# frozen copy of bonito.store.rollup.LAT_COLUMNS (98 histogram buckets)
_LAT = [f"lat_{i:02d}" for i in range(98)]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "usage_daily",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dims", sa.String(32), nullable=False),
        sa.Column("model_requested", sa.String(200)),
        sa.Column("model_used", sa.String(200)),
        sa.Column("key_id", sa.String(64)),
        sa.Column("key_name", sa.String(200)),
        sa.Column("provider", sa.String(200)),
        sa.Column("route", sa.String(200)),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", PicoUSD, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("retried", sa.BigInteger, nullable=False),
        sa.Column("streamed", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "day", "dims", name="pk_usage_daily"),
    )
    op.create_table(
        "usage_daily_latency",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dims", sa.String(32), nullable=False),
        *[sa.Column(c, sa.Integer, nullable=False) for c in _LAT],
        sa.PrimaryKeyConstraint("org_id", "day", "dims", name="pk_usage_daily_latency"),
    )
    from bonito.store.rollup import fill_daily_from_hourly, install_trigger

    install_trigger(op.get_bind())  # now keeps both tiers
    fill_daily_from_hourly(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("usage_daily_latency")
    op.drop_table("usage_daily")
    from bonito.store.rollup import install_trigger

    install_trigger(op.get_bind())  # the hourly tier alone again
