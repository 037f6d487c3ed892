"""usage records

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from bonito.store.types import PicoUSD

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64)),
        sa.Column("key_name", sa.String(200)),
        sa.Column("model_requested", sa.String(200)),
        sa.Column("model_used", sa.String(200)),
        sa.Column("provider", sa.String(200)),
        sa.Column("upstream_model", sa.String(200)),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("total_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", PicoUSD, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("ttft_ms", sa.Float),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("route", sa.String(200)),
        sa.Column("decision", sa.JSON),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_usage_records"),
    )
    op.create_index("ix_usage_org_created", "usage_records", ["org_id", "created_at"])
    op.create_index("ix_usage_org_key_created", "usage_records", ["org_id", "key_id", "created_at"])
    op.create_index("ix_usage_org_model_created", "usage_records", ["org_id", "model_used", "created_at"])
    op.create_index("ix_usage_request_id", "usage_records", ["request_id"])


def downgrade() -> None:
    op.drop_table("usage_records")
