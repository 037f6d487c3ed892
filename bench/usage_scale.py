"""Usage analytics at scale: 10M usage rows for one org over 30 days on a real PostgreSQL.

    .venv/bin/python bench/usage_scale.py [--rows 10000000] [--other 1000000] [--keep]

Starts a throwaway PostgreSQL (tests/support/postgres.py), migrates it to head,
generates the rows in SQL (generate_series), ANALYZEs, then times what
/api/gateway/usage, /analytics and the logs page run for a 30-day and a 24-hour
window: every statement SQLAlchemy emits is captured and re-run under
EXPLAIN (ANALYZE, BUFFERS). Last, the usage writer's cost per row (insert_usage,
batches of 500) on PostgreSQL and SQLite. Needs the PostgreSQL binaries (initdb, pg_ctl).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402

from bonito.control.services import usage as svc  # noqa: E402
from bonito.store.db import make_engine, migrate  # noqa: E402
from bonito.store.rollup import uninstall_rollups  # noqa: E402
from bonito.store.usage import insert_usage  # noqa: E402
from bonito.usage.record import UsageRecord  # noqa: E402

ORG = "org_big"

_GEN = """
INSERT INTO usage_records (id, request_id, org_id, key_id, key_name, model_requested, model_used, provider,
    upstream_model, endpoint, stream, prompt_tokens, completion_tokens, total_tokens, cost_usd, latency_ms,
    ttft_ms, status, error, attempts, route, decision, source, created_at)
SELECT md5(:tag || g::text), 'req_' || :tag || g::text, {org}, 'key_' || k, 'key name ' || k,
    m.name, m.name, m.provider, m.name, 'chat', r4 < 0.5, pt, ct, pt + ct,
    pt::bigint * m.pin + ct::bigint * m.pout,
    lat, CASE WHEN r4 < 0.5 THEN lat * 0.3 END,
    st, CASE WHEN st >= 400 THEN 'upstream error' END,
    CASE WHEN r5 < 0.05 THEN 2 ELSE 1 END,
    CASE WHEN r5 < 0.3 THEN 'fallback-chain' END, NULL, 'shared_gateway',
    CAST(:end AS timestamptz) - interval '30 days' + (g - r1) / :n * interval '30 days'
FROM (
    SELECT g, r1, r4, r5, floor(random() * 20)::int AS k, 1 + floor(random() * 5)::int AS mi,
        floor(random() * 2000)::int AS pt, floor(random() * 800)::int AS ct,
        exp(ln(250) + 0.7 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS lat,
        CASE WHEN r2 < 0.010 THEN 429 WHEN r2 < 0.015 THEN 500 WHEN r2 < 0.018 THEN 502
             WHEN r2 < 0.020 THEN 400 ELSE 200 END AS st
    FROM (SELECT g, random() AS r1, random() AS r2, random() AS r4, random() AS r5
          FROM generate_series(1, :n) g) s0
) s
JOIN (VALUES (1, 'gpt-4o', 'prov_openai', 2500000, 10000000), (2, 'gpt-4o-mini', 'prov_openai', 150000, 600000),
             (3, 'claude-3-5-sonnet', 'prov_anthropic', 3000000, 15000000),
             (4, 'llama-3-70b', 'prov_groq', 590000, 790000), (5, 'mistral-large', 'prov_mistral', 2000000, 6000000)
) AS m(i, name, provider, pin, pout) ON m.i = s.mi
"""


async def generate(engine: AsyncEngine, rows: int, other: int, end: datetime) -> None:
    async with engine.begin() as conn:
        idx = (await conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage_records' "
            "AND indexname NOT LIKE 'pk_%'"))).all()
        for name, _ in idx:
            await conn.execute(text(f'DROP INDEX "{name}"'))
        await conn.execute(text("ALTER TABLE usage_records DROP CONSTRAINT pk_usage_records"))
        t = time.perf_counter()
        await conn.execute(text(_GEN.format(org="'org_big'")), {"tag": "b", "n": rows, "end": end})
        await conn.execute(text(_GEN.format(org="'org_' || (g % 50)")), {"tag": "o", "n": other, "end": end})
        print(f"  generated {rows + other:,} rows in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        await conn.execute(text("ALTER TABLE usage_records ADD CONSTRAINT pk_usage_records PRIMARY KEY (id)"))
        for _, ddl in idx:
            await conn.execute(text(ddl))
        print(f"  indexes rebuilt in {time.perf_counter() - t:.1f}s")
        for rollup in ("usage_hourly", "usage_daily"):  # filled by the trigger during the INSERTs above
            n = await conn.scalar(text(f"SELECT count(*) FROM {rollup}"))
            print(f"  {rollup} (kept by the insert trigger): {n:,} rows")
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        t = time.perf_counter()
        await conn.execute(text("VACUUM ANALYZE"))
        print(f"  VACUUM ANALYZE in {time.perf_counter() - t:.1f}s")
        for name, size in (await conn.execute(text(
                "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
                "WHERE relname IN ('usage_records', 'usage_hourly', 'usage_daily')"))).all():
            print(f"  {name}: {size} (with indexes)")


class Capture:
    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._on)
        self.on = False

    def _on(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if self.on and not statement.lstrip().upper().startswith("EXPLAIN"):
            self.statements.append((statement, parameters))


async def explain(engine: AsyncEngine, statements: list[tuple[str, Any]], verbose: bool) -> None:
    async with engine.connect() as conn:
        for stmt, params in statements:
            if "FROM providers" in stmt or not stmt.lstrip().upper().startswith("SELECT"):
                continue
            plan = [r[0] for r in (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params)).all()]
            took = next((p for p in reversed(plan) if p.startswith("Execution Time")), "?")
            head = " ".join(stmt.split())[:150]
            print(f"    [{took}] {head}")
            if verbose:
                for line in plan:
                    print("        " + line)


async def timed(engine: AsyncEngine, cap: Capture, label: str, fn: Any, verbose: bool) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    best = float("inf")
    for i in range(3):
        cap.statements, cap.on = [], i == 0
        async with sessions() as session:
            t = time.perf_counter()
            await fn(session)
            best = min(best, time.perf_counter() - t)
        cap.on = False
        if i == 0:
            first = cap.statements
    print(f"  {label}: best of 3 {best * 1000:.0f} ms ({len(first)} statements)")
    await explain(engine, first, verbose)


async def queries(engine: AsyncEngine, end: datetime, verbose: bool) -> None:
    cap = Capture(engine)
    for name, span in (("30 days", timedelta(days=30)), ("24 hours", timedelta(hours=24))):
        f = svc.Filters(ORG, end - span, end)
        group = "day" if span > timedelta(days=2) else "hour"
        await timed(engine, cap, f"usage {name} (group_by={group})",
                    lambda s, f=f, g=group: svc.summary(s, f, g), verbose)
        await timed(engine, cap, f"analytics {name}", lambda s, f=f, g=group: svc.analytics(s, f, g), verbose)
        fk = svc.Filters(ORG, end - span, end, key_id="key_3", status="error")
        await timed(engine, cap, f"usage {name} key_id=key_3 status=error",
                    lambda s, f=fk, g=group: svc.summary(s, f, g), verbose)
    f = svc.Filters(ORG, end - timedelta(days=30), end)
    await timed(engine, cap, "logs page (30 days, limit 100)", lambda s: svc.logs_page(s, f, None, 100), verbose)
    fe = svc.Filters(ORG, end - timedelta(days=30), end, status="error")
    await timed(engine, cap, "logs page status=error (30 days, limit 100)",
                lambda s: svc.logs_page(s, fe, None, 100), verbose)


def _records(n: int, org: str) -> list[UsageRecord]:
    rng = random.Random(1)
    models = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3-70b", "mistral-large"]
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        m = rng.choice(models)
        k = rng.randrange(20)
        out.append(UsageRecord(
            request_id=f"w{i}", org_id=org, key_id=f"key_{k}", key_name=f"key name {k}", model_requested=m,
            model_used=m, provider="prov_x", prompt_tokens=rng.randrange(2000), completion_tokens=rng.randrange(800),
            cost_usd=Decimal("0.000123"), latency_ms=rng.lognormvariate(5.5, 0.7),
            status=200 if rng.random() > 0.02 else 500, attempts=1,
            created_at=now - timedelta(seconds=rng.randrange(7200))))
    return out


async def writer(engine: AsyncEngine, label: str, n: int = 20_000, batch: int = 500) -> None:
    recs = _records(n, f"org_writer_{label}")
    t = time.perf_counter()
    for i in range(0, n, batch):
        await insert_usage(engine, recs[i:i + batch])
    fresh = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(0, n, batch):  # a replay: every id already stored
        await insert_usage(engine, recs[i:i + batch])
    replay = time.perf_counter() - t
    print(f"  writer on {label}: {fresh / n * 1e6:.1f} us/row new, {replay / n * 1e6:.1f} us/row replayed "
          f"(batches of {batch})")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--other", type=int, default=1_000_000)
    ap.add_argument("--quiet", action="store_true", help="no full plans, one line per statement")
    ap.add_argument("--keep", action="store_true", help="leave the server running (prints its URL)")
    ap.add_argument("--url", help="a database kept by --keep: migrate it to head and time the queries again")
    args = ap.parse_args()
    if args.url:
        engine = make_engine(args.url, connect_args={"timeout": 30, "command_timeout": 3600})
        t = time.perf_counter()
        await migrate(engine)
        print(f"migrated to head in {time.perf_counter() - t:.1f}s")
        async with engine.connect() as conn:
            end = await conn.scalar(text("SELECT max(created_at) FROM usage_records WHERE org_id = :o"), {"o": ORG})
        await queries(engine, end.replace(second=0, microsecond=0) + timedelta(minutes=1), not args.quiet)
        await engine.dispose()
        return
    pg = PostgresServer.start_new()
    try:
        url = pg.create_database("usage_scale")
        engine = make_engine(url, connect_args={"timeout": 30, "command_timeout": 3600})
        await migrate(engine)
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        print(f"PostgreSQL at {url}; {args.rows:,} rows for {ORG} over 30 days up to {end.isoformat()}")
        await generate(engine, args.rows, args.other, end)
        print("queries (wall time through the service; then each statement under EXPLAIN ANALYZE):")
        await queries(engine, end, not args.quiet)
        print("writer (into the generated table; then fresh databases with and without the rollup trigger):")
        await writer(engine, "postgresql (generated table)")
        for trigger in (True, False):
            fresh = make_engine(pg.create_database(f"writer_{int(trigger)}"))
            with tempfile.TemporaryDirectory() as tmp:
                lite = make_engine(f"sqlite+aiosqlite:///{tmp}/w.db")
                for e, name in ((fresh, "postgresql"), (lite, "sqlite")):
                    await migrate(e)
                    if not trigger:
                        async with e.begin() as conn:
                            await conn.run_sync(uninstall_rollups)
                    await writer(e, f"{name} {'with' if trigger else 'without'} trigger")
                await lite.dispose()
            await fresh.dispose()
        await engine.dispose()
        if args.keep:
            print(f"kept: {url} (data in {pg.root})")
    finally:
        if not args.keep:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
