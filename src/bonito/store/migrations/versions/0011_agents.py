"""agents: VPC agent org tokens (hashed, with rotation overlap) and agents' last heartbeats

Ingest needs nothing of usage_records: an agent's record is stored under an id derived from
(org, the agent's record id), so the primary key makes a replayed batch write nothing twice.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_agent_tokens"),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE", name="fk_agent_tokens_org_id_orgs"),
        sa.UniqueConstraint("token_hash", name="uq_agent_tokens_token_hash"),
    )
    op.create_index("ix_agent_tokens_org", "agent_tokens", ["org_id"])
    op.create_table(
        "agents",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("uptime_s", sa.Float(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("spool_depth", sa.BigInteger(), nullable=False),
        sa.Column("spool_full", sa.Boolean(), nullable=False),
        sa.Column("config_version", sa.String(128)),
        sa.Column("config_error", sa.Text()),
        sa.Column("providers", sa.JSON()),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offline_notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "id", name="pk_agents"),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], ondelete="CASCADE", name="fk_agents_org_id_orgs"),
    )


def downgrade() -> None:
    op.drop_table("agents")
    op.drop_index("ix_agent_tokens_org", "agent_tokens")
    op.drop_table("agent_tokens")
