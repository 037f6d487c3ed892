"""Alembic environment: runs on the connection that `bonito.store.db.migrate` hands over."""

from __future__ import annotations

from alembic import context

from bonito.store.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline use is not supported
    raise RuntimeError("run migrations through bonito.store.db.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
