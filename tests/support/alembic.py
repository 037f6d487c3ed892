"""Move a test database to a given migration revision (alembic upgrade / downgrade)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bonito.store.db import MIGRATIONS


async def alembic(engine: AsyncEngine, verb: str, revision: str) -> None:
    """`verb` is "upgrade" or "downgrade"."""

    def run(conn: Connection) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        getattr(command, verb)(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)
