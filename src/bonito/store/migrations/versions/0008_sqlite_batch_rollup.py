"""SQLite: the usage writer keeps the hourly rollup per batch; the per-row trigger goes

The row trigger cost five statements a record and capped the embedded store near 300
records/s; the batch writer aggregates each batch with two upserts. Its groups are keyed
by the dimensions spelled out (was: the group's first record id), so the tier is rebuilt
once under the new keys. PostgreSQL is unchanged (a statement trigger, per batch already).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        return
    from bonito.store.rollup import install_trigger, rebuild_rollups_sync

    install_trigger(bind)  # on SQLite: drops the row trigger
    rebuild_rollups_sync(bind)


def downgrade() -> None:
    # nothing to undo in the schema; older code that relied on the row trigger must rebuild its rollup
    return None
