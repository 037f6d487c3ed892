"""The usage rollups: `usage_hourly` everywhere, `usage_daily` on PostgreSQL, kept per batch.

Each rollup holds one row per (org, UTC hour or day, dimensions): model requested
and used, key id and name, provider, route and the exact status code; `dims` is
the key for those (their md5 on PostgreSQL, spelled out on SQLite). Its counters
(requests, tokens, cost, latency sum, retried, streamed) and, in `*_latency` under
the same key, a fixed log-spaced latency histogram (`LAT_BOUNDS`, 16 buckets a
decade, 1 ms to 1000 s) are kept in the inserting transaction, for the rows really
inserted only: rows skipped as already stored (a replayed batch) never count twice.
On PostgreSQL one statement-level trigger (a transition table, aggregated per INSERT
statement) keeps both tiers, so rows written by any path count; on SQLite the batch
writer (`bonito.store.usage.insert_usage`) aggregates each batch with two upserts,
where a row trigger cost five statements a record. Sums over a rollup are exact;
percentiles from it are exact to the bucket.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from bonito.store.base import Base
from bonito.store.types import PicoUSD

# latency histogram: bucket 0 is < 1 ms, bucket i holds [LAT_BOUNDS[i-1], LAT_BOUNDS[i]), the last >= 1000 s
LAT_BOUNDS: tuple[float, ...] = tuple(10 ** (k / 16) for k in range(0, 97))
LAT_COLUMNS: tuple[str, ...] = tuple(f"lat_{i:02d}" for i in range(len(LAT_BOUNDS) + 1))
DIMENSIONS = ("model_requested", "model_used", "key_id", "key_name", "provider", "route", "status")
_SUMS = ("requests", "prompt_tokens", "completion_tokens", "cost_usd", "latency_sum", "retried", "streamed")


def _counters(name: str, time: str) -> Table:
    return Table(
        name, Base.metadata,
        Column("org_id", String(64), nullable=False),
        Column(time, DateTime(timezone=True), nullable=False),
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
        PrimaryKeyConstraint("org_id", time, "dims", name=f"pk_{name}"),
    )


def _latency(name: str, time: str) -> Table:
    # the histogram of each counters row, apart: the counters' table stays narrow and fast to scan
    return Table(
        name, Base.metadata,
        Column("org_id", String(64), nullable=False),
        Column(time, DateTime(timezone=True), nullable=False),
        Column("dims", String(32), nullable=False),
        *[Column(c, Integer, nullable=False) for c in LAT_COLUMNS],
        PrimaryKeyConstraint("org_id", time, "dims", name=f"pk_{name}"),
    )


@dataclass(frozen=True, slots=True)
class Tier:
    """One rollup: its time unit (also its time column's name) and its two tables."""

    unit: str  # "hour" | "day"
    counters: Table
    latency: Table


usage_hourly = _counters("usage_hourly", "hour")
usage_hourly_latency = _latency("usage_hourly_latency", "hour")
usage_daily = _counters("usage_daily", "day")
usage_daily_latency = _latency("usage_daily_latency", "day")
HOURLY = Tier("hour", usage_hourly, usage_hourly_latency)
DAILY = Tier("day", usage_daily, usage_daily_latency)


def lat_value(bucket: int) -> float:
    """The value a percentile in this bucket reports: the bucket's geometric middle."""
    if bucket == 0:
        return LAT_BOUNDS[0] * 10 ** (-1 / 32)
    if bucket >= len(LAT_BOUNDS):
        return LAT_BOUNDS[-1]
    return LAT_BOUNDS[bucket - 1] * 10 ** (1 / 32)


# --- PostgreSQL: one statement trigger aggregates each INSERT into every tier ---

def _pg_key() -> str:
    return "md5(" + " || chr(31) || ".join(
        f"CASE WHEN {d} IS NULL THEN '-' ELSE '+' || length({d}::text) || ':' || {d}::text END"
        for d in DIMENSIONS) + ")"


def _pg_truncated(unit: str) -> str:
    return f"date_trunc('{unit}', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS {unit}"


def _pg_select(source: str, tier: Tier) -> str:
    """Rows for the tier's counters aggregated from `source` (usage_records, or the transition table)."""
    dims, t = ", ".join(DIMENSIONS), tier.unit
    return f"""
        INSERT INTO {tier.counters.name} (org_id, {t}, dims, {dims}, {", ".join(_SUMS)})
        SELECT org_id, {t}, {_pg_key()}, {dims}, count(*), sum(prompt_tokens), sum(completion_tokens),
            sum(cost_usd), sum(latency_ms), count(*) FILTER (WHERE attempts > 1), count(*) FILTER (WHERE stream)
        FROM (SELECT *, {_pg_truncated(t)} FROM {source}) r
        GROUP BY org_id, {t}, {dims}
        ORDER BY 1, 2, 3"""


def _pg_select_latency(source: str, tier: Tier) -> str:
    bounds = "ARRAY[" + ", ".join(repr(b) for b in LAT_BOUNDS) + "]::float8[]"
    hist = ", ".join(f"count(*) FILTER (WHERE b = {i})" for i in range(len(LAT_COLUMNS)))
    t = tier.unit
    return f"""
        INSERT INTO {tier.latency.name} (org_id, {t}, dims, {", ".join(LAT_COLUMNS)})
        SELECT org_id, {t}, {_pg_key()}, {hist}
        FROM (SELECT *, {_pg_truncated(t)}, width_bucket(latency_ms, {bounds}) AS b FROM {source}) r
        GROUP BY org_id, {t}, {", ".join(DIMENSIONS)}
        ORDER BY 1, 2, 3"""


def _pg_upserts(tier: Tier) -> str:
    c, lat, t = tier.counters.name, tier.latency.name, tier.unit
    add = ", ".join(f"{s} = {c}.{s} + excluded.{s}" for s in _SUMS)
    add_lat = ", ".join(f"{s} = {lat}.{s} + excluded.{s}" for s in LAT_COLUMNS)
    return f"""
            {_pg_select("usage_new_rows", tier)}
            ON CONFLICT (org_id, {t}, dims) DO UPDATE SET {add};
            {_pg_select_latency("usage_new_rows", tier)}
            ON CONFLICT (org_id, {t}, dims) DO UPDATE SET {add_lat};"""


def _pg_function(tiers: tuple[Tier, ...]) -> str:
    return f"""CREATE OR REPLACE FUNCTION usage_hourly_add() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            {"".join(_pg_upserts(t) for t in tiers)}
            RETURN NULL;
        END $fn$"""


_PG_TRIGGER = ("CREATE TRIGGER usage_hourly_add AFTER INSERT ON usage_records REFERENCING NEW TABLE AS "
               "usage_new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_hourly_add()")


# --- SQLite: the batch writer aggregates each batch into the hourly tier ---

# SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here): the hour is a prefix
_LITE_HOUR = "substr({r}.created_at, 1, 13) || ':00:00.000000'"


def _lite_key(r: str) -> str:
    """The dimensions spelled out unambiguously (SQLite has no md5): the upsert key of a group."""
    return " || char(31) || ".join(
        f"CASE WHEN {r}.{d} IS NULL THEN '-' ELSE '+' || length({r}.{d}) || ':' || {r}.{d} END"
        for d in DIMENSIONS)


def _lite_bucket(r: str, i: int) -> str:
    lo = f"{r}.latency_ms >= {LAT_BOUNDS[i - 1]!r}" if i > 0 else ""
    hi = f"{r}.latency_ms < {LAT_BOUNDS[i]!r}" if i < len(LAT_BOUNDS) else ""
    return " AND ".join(x for x in (lo, hi) if x)


def _lite_aggregate(source: str, upsert: bool) -> list[str]:
    """Aggregate `source` rows into the hourly tier (adding to existing groups when `upsert`)."""
    dims = ", ".join(DIMENSIONS)
    hour = _LITE_HOUR.format(r="r")
    hist = ", ".join(f"sum({_lite_bucket('r', i)})" for i in range(len(LAT_COLUMNS)))
    add = ", ".join(f"{c} = {c} + excluded.{c}" for c in _SUMS)
    add_lat = ", ".join(f"{c} = {c} + excluded.{c}" for c in LAT_COLUMNS)
    # SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT to parse the upsert
    on_sums = f" WHERE true ON CONFLICT (org_id, hour, dims) DO UPDATE SET {add}" if upsert else ""
    on_lat = f" WHERE true ON CONFLICT (org_id, hour, dims) DO UPDATE SET {add_lat}" if upsert else ""
    return [f"""
        INSERT INTO usage_hourly (org_id, hour, dims, {dims}, {", ".join(_SUMS)})
        SELECT org_id, hour, dims, {dims}, requests, prompt_tokens, completion_tokens, cost_usd, latency_sum,
            retried, streamed FROM (
            SELECT org_id, {hour} AS hour, {_lite_key("r")} AS dims, {dims}, count(*) AS requests,
                sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
                sum(cost_usd) AS cost_usd, sum(latency_ms) AS latency_sum, sum(attempts > 1) AS retried,
                sum(stream != 0) AS streamed
            FROM {source} r GROUP BY 1, 2, 3){on_sums}""", f"""
        INSERT INTO usage_hourly_latency (org_id, hour, dims, {", ".join(LAT_COLUMNS)})
        SELECT * FROM (SELECT org_id, {hour} AS hour, {_lite_key("r")} AS dims, {hist}
            FROM {source} r GROUP BY 1, 2, 3){on_lat}"""]


def lite_batch_rollup() -> list[str]:
    """Statements adding the rows of `temp.usage_batch` (a batch just stored) to the hourly tier."""
    return _lite_aggregate("temp.usage_batch", upsert=True)


# --- install, remove, rebuild ---

def tiers(conn: Connection) -> tuple[Tier, ...]:
    """The tiers this database keeps: the daily one on PostgreSQL once migration 0006 made it."""
    if conn.dialect.name == "postgresql" and inspect(conn).has_table(usage_daily.name):
        return (HOURLY, DAILY)
    return (HOURLY,)


def install_trigger(conn: Connection) -> None:
    """(Re)install the trigger that keeps the tiers present."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(_pg_function(tiers(conn))))
        conn.execute(text("DROP TRIGGER IF EXISTS usage_hourly_add ON usage_records"))
        conn.execute(text(_PG_TRIGGER))
    else:  # the batch writer keeps SQLite's tier (`lite_batch_rollup`); no row trigger
        conn.execute(text("DROP TRIGGER IF EXISTS usage_hourly_add"))


def uninstall_rollups(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS usage_hourly_add ON usage_records"))
        conn.execute(text("DROP FUNCTION IF EXISTS usage_hourly_add()"))
    else:
        conn.execute(text("DROP TRIGGER IF EXISTS usage_hourly_add"))


def rebuild_rollups_sync(conn: Connection) -> None:
    """Recompute every tier from usage_records (migrations; a repair)."""
    kept = tiers(conn)
    for tier in kept:
        conn.execute(text(f"DELETE FROM {tier.counters.name}"))
        conn.execute(text(f"DELETE FROM {tier.latency.name}"))
    if conn.dialect.name != "postgresql":
        for sql in _lite_aggregate("usage_records", upsert=False):
            conn.execute(text(sql))
        return
    for tier in kept:
        conn.execute(text(_pg_select("usage_records", tier)))
        conn.execute(text(_pg_select_latency("usage_records", tier)))


async def rebuild_rollups(conn: AsyncConnection) -> None:
    await conn.run_sync(rebuild_rollups_sync)


def fill_daily_from_hourly(conn: Connection) -> None:
    """Migration 0006 on PostgreSQL: the daily tier summed from the hourly one (same dimension keys)."""
    day = "date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    dims = ", ".join(DIMENSIONS)
    conn.execute(text(f"""
        INSERT INTO usage_daily (org_id, day, dims, {dims}, {", ".join(_SUMS)})
        SELECT org_id, {day}, dims, {dims}, {", ".join(f"sum({s})" for s in _SUMS)}
        FROM usage_hourly GROUP BY org_id, {day}, dims, {dims}"""))
    conn.execute(text(f"""
        INSERT INTO usage_daily_latency (org_id, day, dims, {", ".join(LAT_COLUMNS)})
        SELECT org_id, {day}, dims, {", ".join(f"sum({c})" for c in LAT_COLUMNS)}
        FROM usage_hourly_latency GROUP BY org_id, {day}, dims"""))
