"""usage_records: whether the response cache answered (cache) and what that saved (cache_saved_usd)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy): SQLite keeps the rollup triggers on usage_records
    op.add_column("usage_records", sa.Column("cache", sa.String(16), nullable=True))
    op.add_column("usage_records", sa.Column("cache_saved_usd", sa.BigInteger, nullable=True))


def downgrade() -> None:
    op.drop_column("usage_records", "cache_saved_usd")
    op.drop_column("usage_records", "cache")
