"""usage_hourly: the hourly usage rollup, kept by a trigger on usage_records and filled from the rows stored

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from bonito.store.types import PicoUSD

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# frozen copy of bonito.store.rollup.LAT_COLUMNS (98 histogram buckets)
_LAT = [f"lat_{i:02d}" for i in range(98)]


def upgrade() -> None:
    op.create_table(
        "usage_hourly",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
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
        sa.PrimaryKeyConstraint("org_id", "hour", "dims", name="pk_usage_hourly"),
    )
    op.create_table(
        "usage_hourly_latency",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dims", sa.String(32), nullable=False),
        *[sa.Column(c, sa.Integer, nullable=False) for c in _LAT],
        sa.PrimaryKeyConstraint("org_id", "hour", "dims", name="pk_usage_hourly_latency"),
    )
    from bonito.store.rollup import install_trigger, rebuild_rollups_sync

    install_trigger(op.get_bind())
    rebuild_rollups_sync(op.get_bind())


def downgrade() -> None:
    from bonito.store.rollup import uninstall_rollups

    uninstall_rollups(op.get_bind())
    op.drop_table("usage_hourly_latency")
    op.drop_table("usage_hourly")
