"""Migration 0006 on a real PostgreSQL: usage stored before it is in the daily tier after it, new rows reach
both tiers, and undoing it leaves the hourly tier counting alone. SQLite keeps the hourly tier only."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from bonito.store.db import make_engine, migrate
from bonito.store.rollup import usage_daily, usage_daily_latency, usage_hourly
from bonito.store.usage import UsageRow, _row, insert_usage
from bonito.usage.record import UsageRecord
from tests.support.alembic import alembic

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _records(n: int, tag: str) -> list[UsageRecord]:
    rng = random.Random(tag)
    return [UsageRecord(
        request_id=f"{tag}{i}", org_id="org_a", key_id=rng.choice(["k1", "k2"]), key_name=None, model_requested="m",
        model_used="m", provider="p", prompt_tokens=rng.randrange(100), completion_tokens=rng.randrange(50),
        cost_usd=Decimal(rng.randrange(10**6)) / 10**12, latency_ms=rng.uniform(10, 900), status=200, attempts=1,
        created_at=T0 + timedelta(minutes=rng.randrange(3 * 24 * 60))) for i in range(n)]


async def _sums(engine: AsyncEngine, table: object) -> tuple[int, Decimal]:
    t = table.c  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        n, cost = (await conn.execute(select(func.sum(t.requests), func.sum(t.cost_usd)))).one()
    return int(n or 0), Decimal(cost or 0)


async def _insert_old(engine: AsyncEngine, records: list[UsageRecord]) -> None:
    """The records as an older schema (revision 0005) stores them: only the columns it has."""
    async with engine.begin() as conn:
        cols = {c["name"] for c in await conn.run_sync(lambda c: inspect(c).get_columns("usage_records"))}
        old = table("usage_records", *[column(c, UsageRow.__table__.c[c].type) for c in sorted(cols)])
        await conn.execute(old.insert(), [{k: v for k, v in _row(r).items() if k in cols} for r in records])


async def _has_daily(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: inspect(c).has_table("usage_daily"))


async def test_daily_tier_is_filled_kept_and_undone(database_url: str) -> None:
    engine = make_engine(database_url)
    before, after = _records(300, "b"), _records(200, "a")
    try:
        await alembic(engine, "upgrade", "0005")
        await _insert_old(engine, before)
        await migrate(engine)
        if engine.dialect.name != "postgresql":
            assert not await _has_daily(engine)
            return
        want = (300, sum((r.cost_usd for r in before), Decimal(0)))
        assert await _sums(engine, usage_daily) == want == await _sums(engine, usage_hourly)
        async with engine.connect() as conn:
            lat = usage_daily_latency.c
            assert await conn.scalar(select(func.sum(sum(lat[f"lat_{i:02d}"] for i in range(98))))) == 300

        await insert_usage(engine, after + before[:50])  # new rows, and a replay that must not count
        want = (500, want[1] + sum((r.cost_usd for r in after), Decimal(0)))
        assert await _sums(engine, usage_daily) == want == await _sums(engine, usage_hourly)

        await alembic(engine, "downgrade", "0005")
        assert not await _has_daily(engine)
        await _insert_old(engine, _records(10, "c"))  # the trigger no longer writes the daily tier
        assert (await _sums(engine, usage_hourly))[0] == 510
    finally:
        await engine.dispose()
