"""The usage writer's capacity: records/s that DatabaseSink stores, on SQLite and on PostgreSQL.

    .venv/bin/python bench/usage_writer.py [--records 100000] [--skip-postgres]

Feeds `--records` usage records into a DatabaseSink (the server's writer: batched
inserts, rollups aggregated per batch) as fast as `submit` takes them and times
until every one is stored; also the spool's cost per record (append + fsync per
batch, then drained). The gateway's own rate is in `make bench`'s throughput
table: the writer must store more records per second than the gateway answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import text  # noqa: E402

from bonito.store.db import make_engine, migrate  # noqa: E402
from bonito.store.usage import insert_usage  # noqa: E402
from bonito.usage.record import UsageRecord  # noqa: E402
from bonito.usage.sink import DatabaseSink  # noqa: E402
from bonito.usage.spool import DiskSpool  # noqa: E402


def _records(n: int) -> list[UsageRecord]:
    rng = random.Random(7)
    models = ["gpt-4o-mini", "claude-haiku", "gemini-flash", "nova-micro"]
    keys = [f"key_{i}" for i in range(20)]
    now = datetime.now(UTC)
    return [UsageRecord(request_id=f"req-{i}", org_id="org_bench", key_id=(k := rng.choice(keys)), key_name=k,
                        model_requested=(m := rng.choice(models)), model_used=m, provider="p", upstream_model=m,
                        prompt_tokens=rng.randrange(2000), completion_tokens=rng.randrange(800),
                        cost_usd=Decimal("0.000123"), latency_ms=rng.uniform(50, 2000),
                        status=200 if rng.random() > 0.02 else 502, attempts=1, created_at=now)
            for i in range(n)]


async def writer_rate(url: str, n: int, workdir: Path) -> dict[str, Any]:
    """Records/s from submit() of `n` records until the last is stored."""
    engine = make_engine(url)
    await migrate(engine)
    records = _records(n)

    async def insert(batch: Sequence[UsageRecord]) -> None:
        await insert_usage(engine, batch)

    sink = DatabaseSink(insert, workdir / "spool", memory_bound=max(n, 10_000))
    await sink.start()
    started = time.perf_counter()
    for i, r in enumerate(records):
        sink.submit(r)
        if i % 1000 == 999:
            await asyncio.sleep(0)  # as a serving loop would: the writer runs between requests
    while sink.written < n:  # noqa: ASYNC110 - polling the writer's counter is the measurement
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await sink.close()
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM usage_records"))).scalar_one()
        hourly = (await conn.execute(text("SELECT sum(requests) FROM usage_hourly"))).scalar_one()
    await engine.dispose()
    return {"records": n, "stored": stored, "rollup_requests": int(hourly or 0),
            "records_per_s": round(n / elapsed)}


def spool_cost(n: int, workdir: Path, batch: int = 500) -> dict[str, Any]:
    """µs per record to append (fsync per batch) and to read back, through the on-disk spool."""
    spool = DiskSpool(workdir / "spool-cost")
    docs = [r.to_json() for r in _records(n)]
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        spool.append(docs[i:i + batch])
    spool.seal()
    t1 = time.perf_counter()
    read = 0
    while (segment := spool.claim_oldest()) is not None:
        read += len(segment.records)
        spool.ack(segment)
    t2 = time.perf_counter()
    return {"records": n, "batch": batch, "append_us_per_record": round(1e6 * (t1 - t0) / n, 2),
            "drain_us_per_record": round(1e6 * (t2 - t1) / n, 2), "read_back": read}


def _postgres(run: Callable[[str], Any]) -> Any:
    from tests.support.postgres import PostgresServer

    try:
        server = PostgresServer.start_new()
    except RuntimeError as exc:
        return {"status": f"n/a: {exc}"}
    try:
        return run(server.create_database("bench_writer"))
    finally:
        server.stop()


def measure(n: int, skip_postgres: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bonito-writer-") as tmp:
        work = Path(tmp)
        out: dict[str, Any] = {
            "sqlite": asyncio.run(writer_rate(f"sqlite+aiosqlite:///{work / 'usage.db'}", n, work / "lite")),
            "spool": spool_cost(min(n, 50_000), work),
        }
        if not skip_postgres:
            out["postgresql"] = _postgres(lambda url: asyncio.run(writer_rate(url, n, work / "pg")))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure(args.records, args.skip_postgres), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
