"""Engine creation and migrations (Alembic, run at start)."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, *, busy_timeout_s: float = 30.0, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout so workers can share the file."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": busy_timeout_s}, json_serializer=_json,
                                     **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql+asyncpg"):
        # fail fast while the database is away; the usage writer retries with backoff
        kwargs.setdefault("connect_args", {"timeout": 5, "command_timeout": 30})
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("json_serializer", _json)
    kwargs.setdefault("pool_size", 10)
    return create_async_engine(url, **kwargs)


def _upgrade(conn: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def head_revision() -> str:
    """The newest migration id, read from the version files (no Alembic import needed)."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text()
        rev = re.search(r'^revision\s*=\s*["\']([^"\']+)', text, re.M)
        down = re.search(r'^down_revision\s*=\s*(?:["\']([^"\']+)|None)', text, re.M)
        if rev:
            revisions[rev.group(1)] = down.group(1) if down else None
    parents = {d for d in revisions.values() if d}
    heads = sorted(r for r in revisions if r not in parents)
    return heads[0] if len(heads) == 1 else ""


def _current(conn: Connection) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return row[0] if row else None


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (a cheap check when it already is)."""
    async with engine.begin() as conn:
        head = await asyncio.to_thread(head_revision)
        current = await conn.run_sync(_current)
        if head and current == head:
            return
        logging.getLogger("bonito.store").info("migrating the database from %s to %s", current or "empty", head)
        await conn.run_sync(_upgrade)
