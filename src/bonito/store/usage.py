"""The usage_records table and its batch insert (replays skip ids already stored).

The rollups that analytics read are kept per batch, in the inserting transaction: by a
statement trigger on PostgreSQL, by the insert below on SQLite (`bonito.store.rollup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bonito.store.base import Base
from bonito.store.rollup import lite_batch_rollup
from bonito.store.types import PicoUSD
from bonito.usage.record import UsageRecord


class UsageRow(Base):
    __tablename__ = "usage_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    key_name: Mapped[str | None] = mapped_column(String(200))
    model_requested: Mapped[str | None] = mapped_column(String(200))
    model_used: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(200))
    upstream_model: Mapped[str | None] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(32))
    stream: Mapped[bool] = mapped_column(Boolean)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    total_tokens: Mapped[int] = mapped_column(Integer)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cost_usd: Mapped[Decimal] = mapped_column(PicoUSD)
    latency_ms: Mapped[float] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    route: Mapped[str | None] = mapped_column(String(200))
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(32))
    cache: Mapped[str | None] = mapped_column(String(16))  # "hit" | "semantic-hit" | null
    cache_saved_usd: Mapped[Decimal | None] = mapped_column(PicoUSD, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tags: Mapped[dict[str, str] | None] = mapped_column(JSON)
    request_hash: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_usage_org_created", "org_id", "created_at"),
        Index("ix_usage_org_key_created", "org_id", "key_id", "created_at"),
        Index("ix_usage_org_model_created", "org_id", "model_used", "created_at"),
        Index("ix_usage_request_id", "request_id"),
    )


_COLUMNS = [c.name for c in UsageRow.__table__.columns]

# SQLite: a no-op write first: the transaction takes SQLite's write lock before it reads anything (waiting its busy
# timeout), instead of reading first and failing at once when another writer commits before it upgrades
_LITE_WRITE_LOCK = text("DELETE FROM main.usage_records WHERE 0")
# a batch lands in this per-connection temporary table first, so that the ids already stored are dropped
# once and the rollup is aggregated from exactly the rows inserted
_LITE_BATCH_DDL = text(
    "CREATE TEMP TABLE IF NOT EXISTS usage_batch (id TEXT PRIMARY KEY, "
    + ", ".join(c for c in _COLUMNS if c != "id") + ")")
_LITE_BATCH_INSERT = (f"INSERT INTO temp.usage_batch ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
                      "ON CONFLICT (id) DO NOTHING")
_LITE_BATCH_STEPS = [text(sql) for sql in (
    "DELETE FROM temp.usage_batch WHERE EXISTS (SELECT 1 FROM main.usage_records u WHERE u.id = usage_batch.id)",
    f"INSERT INTO main.usage_records ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} FROM temp.usage_batch",
    *lite_batch_rollup(),
    "DELETE FROM temp.usage_batch",
)]


# PostgreSQL: a batch is COPied into a temporary table and inserted from there in one statement, so the
# statement trigger aggregates the batch once and no row goes through SQLAlchemy's per-row parameter
# handling (which cost more than the database's own work)
_PG_BATCH_DDL = "CREATE TEMP TABLE IF NOT EXISTS usage_batch (LIKE usage_records) ON COMMIT DELETE ROWS"
_PG_BATCH_INSERT = (f"INSERT INTO usage_records ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} "
                    "FROM usage_batch ON CONFLICT (id) DO NOTHING")


async def _insert_pg(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        async with driver.transaction():
            await driver.execute(_PG_BATCH_DDL)
            await driver.copy_records_to_table("usage_batch", records=_bound(engine, rows), columns=_COLUMNS)
            await driver.execute(_PG_BATCH_INSERT)


def _bound(engine: AsyncEngine, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as the driver takes them: each column's own conversion (picodollars, JSON, times) applied
    exactly as SQLAlchemy would bind it, without its per-row parameter handling."""
    procs = [(i, p) for i, c in enumerate(UsageRow.__table__.columns)
             if (p := c.type._cached_bind_processor(engine.dialect)) is not None]
    out = []
    for row in rows:
        values = [row[c] for c in _COLUMNS]
        for i, proc in procs:
            values[i] = proc(values[i])
        out.append(tuple(values))
    return out


def _cut(v: str | None, n: int = 200) -> str | None:
    # a client-chosen string must never make a batch unwritable
    return v if v is None or len(v) <= n else v[:n]


def _row(r: UsageRecord) -> dict[str, Any]:
    return {
        "id": r.id, "request_id": _cut(r.request_id), "org_id": _cut(r.org_id, 64), "key_id": _cut(r.key_id, 64),
        "key_name": _cut(r.key_name), "model_requested": _cut(r.model_requested), "model_used": _cut(r.model_used),
        "provider": _cut(r.provider), "upstream_model": _cut(r.upstream_model), "endpoint": r.endpoint,
        "stream": r.stream, "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
        "total_tokens": r.total_tokens, "cached_tokens": r.cached_tokens, "cache_write_tokens": r.cache_write_tokens,
        "reasoning_tokens": r.reasoning_tokens, "tags": r.tags or None, "request_hash": r.request_hash,
        "cost_usd": r.cost_usd, "latency_ms": r.latency_ms,
        "ttft_ms": r.ttft_ms, "status": r.status, "error": r.error, "attempts": r.attempts,
        "route": r.route, "decision": r.decision, "source": r.source, "cache": r.cache,
        "cache_saved_usd": r.cache_saved_usd,
        "created_at": r.created_at.astimezone(UTC) if r.created_at.tzinfo else r.created_at,
    }


async def insert_usage(engine: AsyncEngine, records: Sequence[UsageRecord]) -> None:
    """Insert records, skipping ids already present: replaying a batch never duplicates."""
    if not records:
        return
    rows = [_row(r) for r in records]
    if engine.dialect.name == "postgresql":
        await _insert_pg(engine, rows)
        return
    async with engine.begin() as conn:
        await conn.execute(_LITE_WRITE_LOCK)
        await conn.execute(_LITE_BATCH_DDL)
        await conn.exec_driver_sql(_LITE_BATCH_INSERT, _bound(engine, rows))
        for step in _LITE_BATCH_STEPS:
            await conn.execute(step)




async def spent_since(session: AsyncSession, scope: Literal["key", "org"], owner: str, since: datetime,
                      tag: Sequence[tuple[str, str]] = ()) -> Decimal | None:
    """USD recorded for a key or an org since `since` (only records carrying every `tag` pair)."""
    column = UsageRow.key_id if scope == "key" else UsageRow.org_id
    total: Decimal | None = await session.scalar(select(func.sum(UsageRow.cost_usd)).where(
        column == owner, UsageRow.created_at >= since, *[UsageRow.tags[k].as_string() == v for k, v in tag]))
    return total
