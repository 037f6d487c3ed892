"""The usage_records table, its batch insert, and the hourly rollup `usage_hourly`.

`usage_hourly` holds one row per (org, UTC hour, dimensions): model requested and
used, key id and name, provider, route and the exact status code; `dims` is the
key for those (md5 of them on PostgreSQL, the id of the group's first record on
SQLite). Its counters (requests, tokens, cost, latency sum, retried, streamed) and,
in `usage_hourly_latency` under the same key, a fixed log-spaced latency histogram
(`LAT_BOUNDS`, 16 buckets a decade, 1 ms to 1000 s) are kept by a trigger on usage_records, in the inserting transaction and
for the rows really inserted only: rows skipped by ON CONFLICT DO NOTHING (a
replayed batch) never count twice, and rows written by any other path count too.
On PostgreSQL it is one statement-level trigger (a transition table, aggregated
per INSERT statement); on SQLite a row trigger. Sums over it are exact;
percentiles from it are exact to the bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import Executable

from bonito.store.base import Base
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
    cost_usd: Mapped[Decimal] = mapped_column(PicoUSD)
    latency_ms: Mapped[float] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    route: Mapped[str | None] = mapped_column(String(200))
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_usage_org_created", "org_id", "created_at"),
        Index("ix_usage_org_key_created", "org_id", "key_id", "created_at"),
        Index("ix_usage_org_model_created", "org_id", "model_used", "created_at"),
        Index("ix_usage_request_id", "request_id"),
    )


# latency histogram: bucket 0 is < 1 ms, bucket i holds [LAT_BOUNDS[i-1], LAT_BOUNDS[i]), the last >= 1000 s
LAT_BOUNDS: tuple[float, ...] = tuple(10 ** (k / 16) for k in range(0, 97))
LAT_COLUMNS: tuple[str, ...] = tuple(f"lat_{i:02d}" for i in range(len(LAT_BOUNDS) + 1))
DIMENSIONS = ("model_requested", "model_used", "key_id", "key_name", "provider", "route", "status")

def _ts() -> DateTime:
    return DateTime(timezone=True)


usage_hourly = Table(
    "usage_hourly", Base.metadata,
    Column("org_id", String(64), nullable=False),
    Column("hour", _ts(), nullable=False),
    Column("dims", String(32), nullable=False),  # md5 of the dimensions: the upsert key
    Column("model_requested", String(200)),
    Column("model_used", String(200)),
    Column("key_id", String(64)),
    Column("key_name", String(200)),
    Column("provider", String(200)),
    Column("route", String(200)),
    Column("status", Integer, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("cost_usd", PicoUSD, nullable=False),
    Column("latency_sum", Float, nullable=False),
    Column("retried", BigInteger, nullable=False),
    Column("streamed", BigInteger, nullable=False),
    PrimaryKeyConstraint("org_id", "hour", "dims", name="pk_usage_hourly"),
)

# the latency histogram of each usage_hourly row, apart: the counters' table stays narrow and fast to scan
usage_hourly_latency = Table(
    "usage_hourly_latency", Base.metadata,
    Column("org_id", String(64), nullable=False),
    Column("hour", _ts(), nullable=False),
    Column("dims", String(32), nullable=False),
    *[Column(c, Integer, nullable=False) for c in LAT_COLUMNS],
    PrimaryKeyConstraint("org_id", "hour", "dims", name="pk_usage_hourly_latency"),
)


def lat_value(bucket: int) -> float:
    """The value a percentile in this bucket reports: the bucket's geometric middle."""
    if bucket == 0:
        return LAT_BOUNDS[0] * 10 ** (-1 / 32)
    if bucket >= len(LAT_BOUNDS):
        return LAT_BOUNDS[-1]
    return LAT_BOUNDS[bucket - 1] * 10 ** (1 / 32)


_COLUMNS = [c.name for c in UsageRow.__table__.columns]


def _cut(v: str | None, n: int = 200) -> str | None:
    # a client-chosen string must never make a batch unwritable
    return v if v is None or len(v) <= n else v[:n]


def _row(r: UsageRecord) -> dict[str, Any]:
    return {
        "id": r.id, "request_id": _cut(r.request_id), "org_id": _cut(r.org_id, 64), "key_id": _cut(r.key_id, 64),
        "key_name": _cut(r.key_name), "model_requested": _cut(r.model_requested), "model_used": _cut(r.model_used),
        "provider": _cut(r.provider), "upstream_model": _cut(r.upstream_model), "endpoint": r.endpoint,
        "stream": r.stream, "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
        "total_tokens": r.total_tokens, "cost_usd": r.cost_usd, "latency_ms": r.latency_ms,
        "ttft_ms": r.ttft_ms, "status": r.status, "error": r.error, "attempts": r.attempts,
        "route": r.route, "decision": r.decision, "source": r.source,
        "created_at": r.created_at.astimezone(UTC) if r.created_at.tzinfo else r.created_at,
    }


async def insert_usage(engine: AsyncEngine, records: Sequence[UsageRecord]) -> None:
    """Insert records, skipping ids already present: replaying a batch never duplicates."""
    if not records:
        return
    table = UsageRow.__table__
    assert isinstance(table, Table)
    stmt: Executable
    if engine.dialect.name == "postgresql":
        # RETURNING makes SQLAlchemy send one multi-row INSERT per batch (insertmanyvalues) rather than
        # one per row, so PostgreSQL's statement trigger aggregates the batch once
        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    else:  # SQLite's trigger is per row: a plain executemany is cheapest
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["id"])
    async with engine.begin() as conn:  # a trigger adds the rows inserted (not the skipped) to usage_hourly
        await conn.execute(stmt, [_row(r) for r in records])


# --- the rollup, maintained by a trigger so that every writer (and only rows really inserted) counts ---

_SUMS = ("requests", "prompt_tokens", "completion_tokens", "cost_usd", "latency_sum", "retried", "streamed")


def _pg_key() -> str:
    return "md5(" + " || chr(31) || ".join(
        f"CASE WHEN {d} IS NULL THEN '-' ELSE '+' || length({d}::text) || ':' || {d}::text END"
        for d in DIMENSIONS) + ")"


def _pg_select(source: str) -> str:
    """Rows for usage_hourly aggregated from `source` (usage_records, or the trigger's transition table)."""
    dims = ", ".join(DIMENSIONS)
    return f"""
        INSERT INTO usage_hourly (org_id, hour, dims, {dims}, {", ".join(_SUMS)})
        SELECT org_id, hour, {_pg_key()}, {dims}, count(*), sum(prompt_tokens), sum(completion_tokens),
            sum(cost_usd), sum(latency_ms), count(*) FILTER (WHERE attempts > 1), count(*) FILTER (WHERE stream)
        FROM (SELECT *, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour
              FROM {source}) r
        GROUP BY org_id, hour, {dims}
        ORDER BY 1, 2, 3"""


def _pg_select_latency(source: str) -> str:
    bounds = "ARRAY[" + ", ".join(repr(b) for b in LAT_BOUNDS) + "]::float8[]"
    hist = ", ".join(f"count(*) FILTER (WHERE b = {i})" for i in range(len(LAT_COLUMNS)))
    return f"""
        INSERT INTO usage_hourly_latency (org_id, hour, dims, {", ".join(LAT_COLUMNS)})
        SELECT org_id, hour, {_pg_key()}, {hist}
        FROM (SELECT *, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
                     width_bucket(latency_ms, {bounds}) AS b FROM {source}) r
        GROUP BY org_id, hour, {", ".join(DIMENSIONS)}
        ORDER BY 1, 2, 3"""


def _pg_trigger() -> list[str]:
    add = ", ".join(f"{c} = usage_hourly.{c} + excluded.{c}" for c in _SUMS)
    add_lat = ", ".join(f"{c} = usage_hourly_latency.{c} + excluded.{c}" for c in LAT_COLUMNS)
    return [
        f"""CREATE OR REPLACE FUNCTION usage_hourly_add() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            {_pg_select("usage_new_rows")}
            ON CONFLICT (org_id, hour, dims) DO UPDATE SET {add};
            {_pg_select_latency("usage_new_rows")}
            ON CONFLICT (org_id, hour, dims) DO UPDATE SET {add_lat};
            RETURN NULL;
        END $fn$""",
        "CREATE TRIGGER usage_hourly_add AFTER INSERT ON usage_records REFERENCING NEW TABLE AS usage_new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION usage_hourly_add()",
    ]


# SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here): the hour is a prefix
_LITE_HOUR = "substr({r}.created_at, 1, 13) || ':00:00.000000'"


def _lite_match(r: str) -> str:
    dims = " AND ".join(f"{d} IS {r}.{d}" for d in DIMENSIONS)
    return f"org_id = {r}.org_id AND hour = {_LITE_HOUR.format(r=r)} AND {dims}"


def _lite_bucket(r: str, i: int) -> str:
    lo = f"{r}.latency_ms >= {LAT_BOUNDS[i - 1]!r}" if i > 0 else ""
    hi = f"{r}.latency_ms < {LAT_BOUNDS[i]!r}" if i < len(LAT_BOUNDS) else ""
    return " AND ".join(x for x in (lo, hi) if x)


def _lite_trigger() -> list[str]:
    dims = ", ".join(DIMENSIONS)
    new_dims = ", ".join(f"NEW.{d}" for d in DIMENSIONS)
    hour = _LITE_HOUR.format(r="NEW")
    add = ", ".join([
        "requests = requests + 1", "prompt_tokens = prompt_tokens + NEW.prompt_tokens",
        "completion_tokens = completion_tokens + NEW.completion_tokens", "cost_usd = cost_usd + NEW.cost_usd",
        "latency_sum = latency_sum + NEW.latency_ms", "retried = retried + (NEW.attempts > 1)",
        "streamed = streamed + (NEW.stream != 0)"])
    add_lat = ", ".join(f"{c} = {c} + ({_lite_bucket('NEW', i)})" for i, c in enumerate(LAT_COLUMNS))
    return [
        f"CREATE INDEX IF NOT EXISTS ix_usage_hourly_dims ON usage_hourly (org_id, hour, {dims})",
        f"""CREATE TRIGGER usage_hourly_add AFTER INSERT ON usage_records BEGIN
            INSERT INTO usage_hourly (org_id, hour, dims, {dims}, {", ".join(_SUMS)})
            SELECT NEW.org_id, {hour}, NEW.id, {new_dims}, {", ".join("0" for _ in _SUMS)}
            WHERE NOT EXISTS (SELECT 1 FROM usage_hourly WHERE {_lite_match("NEW")});
            UPDATE usage_hourly SET {add} WHERE {_lite_match("NEW")};
            INSERT OR IGNORE INTO usage_hourly_latency (org_id, hour, dims, {", ".join(LAT_COLUMNS)})
            SELECT org_id, hour, dims, {", ".join("0" for _ in LAT_COLUMNS)}
            FROM usage_hourly WHERE {_lite_match("NEW")};
            UPDATE usage_hourly_latency SET {add_lat} WHERE org_id = NEW.org_id AND hour = {hour}
                AND dims = (SELECT dims FROM usage_hourly WHERE {_lite_match("NEW")});
        END""",
    ]


def _lite_rebuild() -> list[str]:
    dims = ", ".join(DIMENSIONS)
    hist = ", ".join(f"sum({_lite_bucket('r', i)})" for i in range(len(LAT_COLUMNS)))
    return [f"""
        INSERT INTO usage_hourly (org_id, hour, dims, {dims}, {", ".join(_SUMS)})
        SELECT org_id, {_LITE_HOUR.format(r="r")}, min(id), {dims}, count(*), sum(prompt_tokens),
            sum(completion_tokens), sum(cost_usd), sum(latency_ms), sum(attempts > 1), sum(stream != 0)
        FROM usage_records r
        GROUP BY org_id, {_LITE_HOUR.format(r="r")}, {dims}""", f"""
        INSERT INTO usage_hourly_latency (org_id, hour, dims, {", ".join(LAT_COLUMNS)})
        SELECT h.org_id, h.hour, h.dims, {hist}
        FROM usage_records r JOIN usage_hourly h ON h.org_id = r.org_id AND h.hour = {_LITE_HOUR.format(r="r")}
            AND {" AND ".join(f"h.{d} IS r.{d}" for d in DIMENSIONS)}
        GROUP BY h.org_id, h.hour, h.dims"""]


def install_usage_hourly(conn: Connection) -> None:
    """The trigger that keeps usage_hourly (migration 0004), then a fill from the rows already stored."""
    for ddl in _pg_trigger() if conn.dialect.name == "postgresql" else _lite_trigger():
        conn.execute(text(ddl))
    rebuild_usage_hourly_sync(conn)


def uninstall_usage_hourly(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS usage_hourly_add ON usage_records"))
        conn.execute(text("DROP FUNCTION IF EXISTS usage_hourly_add()"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS usage_hourly_add"))


def rebuild_usage_hourly_sync(conn: Connection) -> None:
    """Recompute usage_hourly from usage_records (the migration; a repair)."""
    conn.execute(text("DELETE FROM usage_hourly"))
    conn.execute(text("DELETE FROM usage_hourly_latency"))
    pg = conn.dialect.name == "postgresql"
    for sql in [_pg_select("usage_records"), _pg_select_latency("usage_records")] if pg else _lite_rebuild():
        conn.execute(text(sql))


async def rebuild_usage_hourly(conn: AsyncConnection) -> None:
    await conn.run_sync(rebuild_usage_hourly_sync)
