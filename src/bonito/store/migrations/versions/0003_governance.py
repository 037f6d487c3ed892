"""governance: org limits, budgets, alert rules and webhooks, notifications, preferences

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from bonito.store.types import PicoUSD

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "org_limits",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("requests_per_minute", sa.Integer),
        sa.Column("tokens_per_minute", sa.Integer),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_limits"),
    )
    op.create_table(
        "budgets",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64)),
        sa.Column("scope_key", sa.String(80), nullable=False),
        sa.Column("usd", PicoUSD, nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("hard", sa.Boolean, nullable=False),
        sa.Column("throttle_at_percent", sa.Float),
        sa.Column("throttle_requests_per_minute", sa.Integer),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_budgets"),
        sa.UniqueConstraint("org_id", "scope_key", name="uq_budgets_org_id_scope_key"),
    )
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("window_minutes", sa.Integer, nullable=False),
        sa.Column("min_requests", sa.Integer, nullable=False),
        sa.Column("channels", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_rules"),
    )
    op.create_index("ix_alert_rules_org", "alert_rules", ["org_id"])
    op.create_table(
        "alert_webhooks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret_ref", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_webhooks"),
    )
    op.create_index("ix_alert_webhooks_org", "alert_webhooks", ["org_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("data", sa.JSON),
        sa.Column("dedupe_key", sa.String(300), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )
    op.create_index("ix_notifications_org_created", "notifications", ["org_id", "created_at"])
    op.create_table(
        "notification_reads",
        sa.Column("notification_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("read_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("notification_id", "user_id", name="pk_notification_reads"),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("email", sa.Boolean, nullable=False),
        sa.Column("in_app", sa.Boolean, nullable=False),
        sa.Column("weekly_digest", sa.Boolean, nullable=False),
        sa.Column("muted_kinds", sa.JSON, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "org_id", name="pk_notification_preferences"),
    )


def downgrade() -> None:
    for table in ("notification_preferences", "notification_reads", "notifications", "alert_webhooks",
                  "alert_rules", "budgets", "org_limits"):
        op.drop_table(table)
