"""The usage writer against real SQLite and PostgreSQL: batches, exact money, idempotent replay."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from bonito.store.db import make_engine, migrate
from bonito.store.usage import UsageRow, insert_usage
from bonito.usage.record import UsageRecord
from bonito.usage.sink import DatabaseSink


def _record(i: int, cost: str = "0.25") -> UsageRecord:
    return UsageRecord(request_id=f"req-{i}", org_id="default", key_id="k1", key_name="ci",
                       model_requested="gpt-4o-mini", model_used="gpt-4o-mini", provider="p",
                       prompt_tokens=10, completion_tokens=5, cost_usd=Decimal(cost), latency_ms=1.5,
                       decision={"strategy": "direct"})


async def test_batches_are_written_once_with_exact_cost(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    await migrate(engine)
    await migrate(engine)  # a second start finds the schema current
    sink = DatabaseSink(lambda rs: insert_usage(engine, rs), tmp_path / "spool", interval_s=0.05)
    await sink.start()
    records = [_record(i) for i in range(4)] + [_record(9, "0.000000045")]
    for r in records:
        sink.submit(r)
    await sink.close()
    await insert_usage(engine, records)  # replaying the same records adds nothing
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(UsageRow))).scalar_one()
        total = (await conn.execute(select(func.sum(UsageRow.cost_usd)))).scalar_one()
        decision = (await conn.execute(select(UsageRow.decision).limit(1))).scalar_one()
    await engine.dispose()
    assert count == 5
    assert Decimal(total) == Decimal("1.000000045")
    assert decision == {"strategy": "direct"}


async def test_outage_spools_within_a_second_and_replays_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bonito.db'}"
    engine = make_engine(url)
    await migrate(engine)
    down = True
    written: list[str] = []

    async def flaky(records):  # type: ignore[no-untyped-def]
        if down:
            raise ConnectionError("database is down")
        await insert_usage(engine, records)
        written.extend(r.id for r in records)

    sink = DatabaseSink(flaky, tmp_path / "spool", interval_s=0.02, memory_bound=3, max_backoff_s=0.1,
                        outage_spool_s=0.1)
    await sink.start()
    records = [_record(i) for i in range(8)]
    for r in records:
        sink.submit(r)
    await asyncio.sleep(0.5)
    assert not sink.healthy
    # while the store is down nothing waits in memory: every record is on disk (a kill -9 loses none)
    assert sink.pending == 8
    spooled = b"".join(p.read_bytes() for p in (tmp_path / "spool").glob("usage-*.jsonl"))
    assert sorted(line.split(b'"id":"')[1][:32].decode() for line in spooled.splitlines()) == sorted(
        r.id for r in records)
    down = False
    for _ in range(100):
        if len(written) == 8:
            break
        await asyncio.sleep(0.05)
    await sink.close()
    await engine.dispose()
    assert sorted(written) == sorted(r.id for r in records)
    assert not list((tmp_path / "spool").glob("usage-*"))
