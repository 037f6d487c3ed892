"""Alert rules evaluated from recorded usage, delivered once across replicas; signatures."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bonito.alerts.evaluate import digest_due
from bonito.alerts.service import AlertService
from bonito.alerts.signing import sign, signed_headers, verify
from bonito.config.schema import AlertsConfig, RateRuleConfig
from bonito.snapshot import Snapshot, empty_snapshot
from bonito.store.db import make_engine, migrate
from bonito.store.usage import insert_usage
from bonito.usage.record import UsageRecord

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # a Monday, past 09:00 UTC


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}")
    await migrate(eng)
    yield eng
    await eng.dispose()


def snapshot() -> Snapshot:
    alerts = AlertsConfig(error_rate=RateRuleConfig(threshold=20, window_minutes=5, min_requests=10),
                          latency=RateRuleConfig(threshold=1000, window_minutes=5, min_requests=10))
    return dataclasses.replace(empty_snapshot(), alerts=alerts)


def usage(org: str, status: int, latency_ms: float, at: datetime, cost: str = "0.5") -> UsageRecord:
    return UsageRecord(request_id="r", org_id=org, key_id="k", key_name="k", model_requested="m",
                       model_used="m", status=status, latency_ms=latency_ms, prompt_tokens=10,
                       completion_tokens=5, cost_usd=Decimal(cost), created_at=at)


async def test_error_rate_and_latency_alert_once_across_replicas(engine: AsyncEngine) -> None:
    recent = NOW - timedelta(minutes=1)
    rows = [usage("org_a", 502 if i < 3 else 200, 100, recent) for i in range(12)]  # 25 % failing
    rows += [usage("org_b", 200, 2000 if i < 2 else 50, recent) for i in range(20)]  # p95 = 2000 ms
    rows += [usage("org_c", 500, 100, recent) for i in range(3)]  # too few requests to judge
    await insert_usage(engine, rows)
    snap = snapshot()
    replicas = [AlertService(engine, lambda: snap, clock=lambda: NOW) for _ in range(2)]
    found = await replicas[0].evaluate()
    kinds = sorted((a.kind, a.org_id) for a in found if a.kind != "digest")
    assert kinds == [("error_rate", "org_a"), ("latency", "org_b")]
    error = next(a for a in found if a.kind == "error_rate")
    assert error.data["error_rate_percent"] == 25.0 and error.data["failed"] == 3
    for replica in replicas:  # both noticed; one delivers
        for alert in await replica.evaluate():
            await replica.deliver(alert)
    delivered = [d for r in replicas for d in r.delivered if d[0] == "in_app" and "digest" not in d[1]]
    assert len(delivered) == 2


async def test_weekly_digest_summarises_last_week(engine: AsyncEngine) -> None:
    last_week = NOW - timedelta(days=3)
    await insert_usage(engine, [usage("org_d", 200, 10, last_week, cost="0.25") for _ in range(4)]
                       + [usage("org_d", 502, 10, last_week, cost="0")])
    snap = snapshot()
    service = AlertService(engine, lambda: snap, clock=lambda: NOW)
    digests = [a for a in await service.evaluate() if a.kind == "digest"]
    assert len(digests) == 1
    d = digests[0]
    assert d.org_id == "org_d" and d.data["requests"] == 5 and d.data["cost_usd"] == "1"
    assert d.data["failed"] == 1 and "5 requests" in d.title
    assert digest_due(datetime(2025, 3, 10, 9, 0, tzinfo=UTC))
    assert not digest_due(datetime(2025, 3, 10, 8, 59, tzinfo=UTC))


def test_signature_covers_timestamp_and_body() -> None:
    body = b'{"type":"alert.budget"}'
    headers = signed_headers("s3cret-value", body, now=1_700_000_000)
    ts, sig = headers["X-Bonito-Timestamp"], headers["X-Bonito-Signature"]
    assert sig == sign("s3cret-value", 1_700_000_000, body) and sig.startswith("sha256=")
    assert verify("s3cret-value", ts, sig, body, now=1_700_000_010)
    assert not verify("s3cret-value", ts, sig, body + b" ", now=1_700_000_010)
    assert not verify("other-secret", ts, sig, body, now=1_700_000_010)
    assert not verify("s3cret-value", ts, sig, body, now=1_700_000_000 + 3600)  # replayed later
