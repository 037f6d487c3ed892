"""The hourly rollup against real SQLite and PostgreSQL: replays never double count, and what the usage
service answers (rollup for whole hours, raw rows for the edges) equals sums over the raw rows."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bonito.control.services import usage as svc
from bonito.store.db import make_engine, migrate
from bonito.store.rollup import (
    rebuild_rollups,
    usage_daily,
    usage_daily_latency,
    usage_hourly,
    usage_hourly_latency,
)
from bonito.store.usage import insert_usage
from bonito.usage.record import UsageRecord

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
H = usage_hourly.c


def _records(n: int, seed: int = 7, hours: int = 30) -> list[UsageRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        model = rng.choice(["gpt-4o", "gpt-4o-mini", "claude", None])
        status = rng.choice([200] * 12 + [429, 500, 502, 400])
        out.append(UsageRecord(
            request_id=f"r{i}", org_id=rng.choice(["org_a"] * 4 + ["org_b"]),
            key_id=rng.choice(["k1", "k2", None]), key_name=None, model_requested=model or "alias",
            model_used=model, provider=rng.choice(["p1", "p2", None]), route=rng.choice([None, "chain"]),
            prompt_tokens=rng.randrange(500), completion_tokens=rng.randrange(300),
            cost_usd=Decimal(rng.randrange(10**9)) / 10**12, latency_ms=round(rng.lognormvariate(5, 1.2), 3),
            status=status, attempts=rng.choice([1, 1, 1, 2]), stream=rng.random() < 0.4,
            created_at=T0 + timedelta(seconds=rng.randrange(hours * 3600))))
    return out


async def _engine(url: str, records: list[UsageRecord]) -> AsyncEngine:
    engine = make_engine(url)
    await migrate(engine)
    for i in range(0, len(records), 50):
        await insert_usage(engine, records[i:i + 50])
    await insert_usage(engine, records[:120])  # replays: every id already stored
    await insert_usage(engine, records[100:170])
    return engine


async def _hourly_totals(engine: AsyncEngine) -> tuple[int, int, Decimal]:
    async with engine.connect() as conn:
        n, tokens, cost = (await conn.execute(select(
            func.sum(H.requests), func.sum(H.prompt_tokens + H.completion_tokens), func.sum(H.cost_usd)))).one()
    return int(n), int(tokens), Decimal(cost)


async def test_replays_never_double_count_and_the_trigger_matches_a_rebuild(database_url: str) -> None:
    records = _records(400)
    engine = await _engine(database_url, records)
    try:
        assert await _hourly_totals(engine) == (
            400, sum(r.total_tokens for r in records), sum((r.cost_usd for r in records), Decimal(0)))
        cols = [c for t in (usage_hourly, usage_hourly_latency) for c in t.c if c.name != "dims"]
        lat = usage_hourly_latency.c
        joined = select(*cols).select_from(usage_hourly.join(usage_hourly_latency, (lat.org_id == H.org_id) & (
            lat.hour == H.hour) & (lat.dims == H.dims)))
        async with engine.connect() as conn:
            before = sorted(repr(tuple(r)) for r in (await conn.execute(joined)).all())
        async with engine.begin() as conn:
            await rebuild_rollups(conn)
        async with engine.connect() as conn:
            after = sorted(repr(tuple(r)) for r in (await conn.execute(joined)).all())
            n_hourly = (await conn.execute(select(func.count()).select_from(usage_hourly))).scalar_one()
        assert before == after and len(before) == n_hourly
        if engine.dialect.name == "postgresql":  # the daily tier: same totals, and the trigger equals a rebuild
            d, dl = usage_daily.c, usage_daily_latency.c
            async with engine.connect() as conn:
                daily = (await conn.execute(select(func.sum(d.requests), func.sum(d.cost_usd)))).one()
                assert (int(daily[0]), Decimal(daily[1])) == (400, sum((r.cost_usd for r in records), Decimal(0)))
                days = select(*[c for t in (usage_daily, usage_daily_latency) for c in t.c]).select_from(
                    usage_daily.join(usage_daily_latency, (dl.org_id == d.org_id) & (dl.day == d.day) & (
                        dl.dims == d.dims)))
                trigger_days = sorted(repr(tuple(r)) for r in (await conn.execute(days)).all())
            async with engine.begin() as conn:
                await rebuild_rollups(conn)
            async with engine.connect() as conn:
                assert sorted(repr(tuple(r)) for r in (await conn.execute(days)).all()) == trigger_days
        if engine.dialect.name == "postgresql":
            # PostgreSQL's statement trigger counts a writer other than insert_usage (plain SQL) too;
            # SQLite's tier is kept by insert_usage itself (one aggregate per batch, no row trigger)
            async with engine.begin() as conn:
                await conn.execute(text(
                    "INSERT INTO usage_records (id, request_id, org_id, endpoint, stream, prompt_tokens, "
                    "completion_tokens, total_tokens, cost_usd, latency_ms, status, attempts, source, created_at) "
                    "VALUES ('x1', 'x1', 'org_a', 'chat', false, 1, 2, 3, 5, 1.0, 200, 1, 'sql', :t)"),
                    {"t": T0 + timedelta(minutes=5)})
            assert (await _hourly_totals(engine))[0] == 401
    finally:
        await engine.dispose()


def _expected(records: list[UsageRecord], f: svc.Filters) -> list[UsageRecord]:
    out = []
    for r in records:
        if r.org_id != f.org_id or (f.start and r.created_at < f.start) or (f.end and r.created_at >= f.end):
            continue
        if f.model and f.model not in (r.model_used, r.model_requested):
            continue
        if (f.key_id and r.key_id != f.key_id) or (f.provider and r.provider != f.provider):
            continue
        if (f.status == "error" and r.status < 400) or (f.status == "5xx" and not 500 <= r.status < 600):
            continue
        out.append(r)
    return out


def _nearest_rank(values: list[float], q: float) -> float:
    return sorted(values)[max(1, math.ceil(q * len(values))) - 1]


def _check(body: dict[str, Any], rows: list[UsageRecord], group_by: str, exact_percentiles: bool) -> None:
    assert body["requests"] == len(rows)
    assert body["prompt_tokens"] == sum(r.prompt_tokens for r in rows)
    assert body["completion_tokens"] == sum(r.completion_tokens for r in rows)
    cost = sum((r.cost_usd for r in rows), Decimal(0))
    assert Decimal(body["cost_usd_exact"]) == cost
    assert body["errors"] == sum(r.status >= 400 for r in rows)
    if not rows:
        return
    lat = [r.latency_ms for r in rows]
    assert body["latency_ms"]["avg"] == pytest.approx(sum(lat) / len(lat))
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        want, got = _nearest_rank(lat, q), body["latency_ms"][name]
        if exact_percentiles:
            assert got == pytest.approx(want)
        else:  # the middle of the right histogram bucket: within 10^(1/32)
            assert 10 ** (-1 / 32) - 1e-9 <= got / want <= 10 ** (1 / 32) + 1e-9
    fmt = "%Y-%m-%dT%H:00:00+00:00" if group_by == "hour" else "%Y-%m-%dT00:00:00+00:00"
    series: dict[str, int] = {}
    for r in rows:
        b = r.created_at.strftime(fmt)
        series[b] = series.get(b, 0) + 1
    assert {s["bucket"]: s["requests"] for s in body["series"]} == series
    assert [s["bucket"] for s in body["series"]] == sorted(series)
    models: dict[str | None, int] = {}
    keys: dict[str | None, int] = {}
    providers: dict[str | None, Decimal] = {}
    for r in rows:
        models[r.model_used or r.model_requested] = models.get(r.model_used or r.model_requested, 0) + 1
        keys[r.key_id] = keys.get(r.key_id, 0) + r.total_tokens
        providers[r.provider] = providers.get(r.provider, Decimal(0)) + r.cost_usd
    assert {m["model"]: m["requests"] for m in body["by_model"]} == models
    assert {k["key_id"]: k["total_tokens"] for k in body["by_key"]} == keys
    assert {p["provider_id"]: Decimal(p["cost_usd_exact"]) for p in body["by_provider"]} == providers


WINDOWS = [
    (T0 + timedelta(minutes=17, seconds=3), T0 + timedelta(hours=20, minutes=33)),  # ragged both ends
    (T0 + timedelta(hours=2), T0 + timedelta(hours=9)),  # whole hours only
    (T0 + timedelta(hours=3, minutes=5), T0 + timedelta(hours=3, minutes=50)),  # inside one hour
    (T0 + timedelta(hours=3, minutes=5), T0 + timedelta(hours=4, minutes=50)),  # two partial hours
    (T0 - timedelta(days=3), None),  # open end
]


# over several days: on PostgreSQL whole days come from the daily tier, the hours around them from the hourly one
DAY_WINDOWS = [
    (T0 + timedelta(hours=5, minutes=17, seconds=3), T0 + timedelta(days=3, hours=20, minutes=33)),
    (T0 + timedelta(days=1), T0 + timedelta(days=4)),  # whole days only
    (T0 + timedelta(hours=23), T0 + timedelta(days=2, hours=1)),  # one whole day and an hour each side
    (T0 + timedelta(hours=30, minutes=1), T0 + timedelta(days=3, hours=2, minutes=59)),
    (T0 - timedelta(days=3), None),  # open end
]


@pytest.mark.parametrize("exact", [True, False], ids=["exact-percentiles", "histogram-percentiles"])
@pytest.mark.parametrize("span", ["hours", "days"])
async def test_usage_answers_equal_sums_over_the_raw_rows(database_url: str, exact: bool, span: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if not exact:
        monkeypatch.setattr(svc, "EXACT_PERCENTILES_MAX", 0)
    records = _records(600, seed=3) if span == "hours" else _records(900, seed=5, hours=5 * 24)
    engine = await _engine(database_url, records)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        for start, end in WINDOWS if span == "hours" else DAY_WINDOWS:
            for extra in ({}, {"key_id": "k1"}, {"model": "alias"}, {"provider": "p2", "status": "error"},
                          {"status": "5xx"}):
                f = svc.Filters("org_a", start, end, **extra)
                rows = _expected(records, f)
                for group_by in ("hour", "day"):
                    async with sessions() as session:
                        body = await svc.analytics(session, f, group_by)
                    # a window spanning no whole hour reads raw rows only: its percentiles are exact
                    first = start.replace(minute=0, second=0) + timedelta(hours=start.minute > 0 or start.second > 0)
                    raw_only = end is not None and end.replace(minute=0, second=0) <= first
                    _check(body, rows, group_by, (exact and not extra) or raw_only)
                    statuses: dict[int, int] = {}
                    for r in rows:
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                    assert {s["status"]: s["requests"] for s in body["by_status"]} == statuses
                    chained = sum(r.route == "chain" for r in rows)
                    assert {r["route"]: r["requests"] for r in body["by_route"]} == (
                        {"chain": chained} if chained else {})
                    assert body["retried_or_fell_back"] == sum(r.attempts > 1 for r in rows)
                    assert body["streamed"] == sum(r.stream for r in rows)
    finally:
        await engine.dispose()
