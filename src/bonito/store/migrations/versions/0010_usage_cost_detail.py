"""usage cost detail: cached / cache-write / reasoning tokens, tags and a request hash on usage records, cached-input and
cache-write prices on models, a tag scope on budgets, default tags on gateway keys, imported cloud bills

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from bonito.store.types import PicoUSD

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TOKENS = ("cached_tokens", "cache_write_tokens", "reasoning_tokens")


def upgrade() -> None:
    for name in _TOKENS:
        op.add_column("usage_records", sa.Column(name, sa.Integer, nullable=False, server_default="0"))
    op.add_column("usage_records", sa.Column("tags", sa.JSON))
    op.add_column("usage_records", sa.Column("request_hash", sa.String(32)))
    op.add_column("models", sa.Column("cached_input_cost_per_mtok", PicoUSD))
    op.add_column("models", sa.Column("cache_write_cost_per_mtok", PicoUSD))
    op.add_column("budgets", sa.Column("tag", sa.JSON))
    op.add_column("gateway_keys", sa.Column("tags", sa.JSON))
    op.create_table(
        "cloud_bills",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("cloud", sa.String(16), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("amount", PicoUSD, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cloud_bills"),
    )
    op.create_index("ix_cloud_bills_org_day", "cloud_bills", ["org_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_cloud_bills_org_day", table_name="cloud_bills")
    op.drop_table("cloud_bills")
    with op.batch_alter_table("gateway_keys") as batch:
        batch.drop_column("tags")
    with op.batch_alter_table("budgets") as batch:
        batch.drop_column("tag")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("cache_write_cost_per_mtok")
        batch.drop_column("cached_input_cost_per_mtok")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("request_hash")
        batch.drop_column("tags")
        for name in reversed(_TOKENS):
            batch.drop_column(name)
