"""gateway_keys: whether the response cache serves the key (cache); true for every key already stored

Routes need no column: a policy's `cache` is kept in routing_policies.options
with its other fields (0009).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN with a default: existing keys keep caching, no table copy
    op.add_column("gateway_keys", sa.Column("cache", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("gateway_keys") as batch:
        batch.drop_column("cache")
