"""`bonito migrate`: bring the database to the newest schema, then exit (a deploy's migration step)."""

from __future__ import annotations

import asyncio
import logging

from bonito.config.settings import Settings
from bonito.observability.logs import configure_logging


def migrate_command(log_format: str = "text") -> int:
    """Exit 0 once the schema is current; 1 (naming the error's kind) when the database cannot be migrated."""
    configure_logging(log_format, "info")
    from bonito.store.db import make_engine, migrate

    async def run() -> None:
        engine = make_engine(Settings.from_env().effective_database_url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    log = logging.getLogger("bonito.store")
    try:
        asyncio.run(run())
    except Exception as exc:
        log.error("migration failed: %s", type(exc).__name__)
        return 1
    log.info("the database schema is current")
    return 0
