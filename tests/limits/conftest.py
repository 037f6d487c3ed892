"""Limits under test: a Governor over either backend, a settable clock, keys and snapshots."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bonito.config.schema import AlertsConfig, BudgetConfig, LimitsConfig, OrgConfig
from bonito.limits.base import BudgetCrossing, LimitBackend
from bonito.limits.governor import Governor
from bonito.limits.memory import MemoryBackend
from bonito.limits.redis_backend import RedisBackend
from bonito.snapshot import KeyEntry, Snapshot, empty_snapshot
from bonito.usage.record import UsageRecord
from tests.support.redis import RedisServer, redis_server

__all__ = ["redis_server"]

BODY = {"model": "m", "messages": [{"role": "user", "content": "x" * 40}]}  # estimate: 4 + 10 tokens


class Clock:
    """Epoch seconds that only move when told to."""

    def __init__(self, at: datetime = datetime(2025, 1, 31, 23, 59, 0, tzinfo=UTC)) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[LimitBackend]:
    if request.param == "memory":
        yield MemoryBackend(clock)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    redis = RedisBackend(server.url)
    yield redis
    await redis.aclose()


@pytest.fixture
def crossings() -> list[BudgetCrossing]:
    return []


@pytest.fixture
def governor(backend: LimitBackend, clock: Clock, crossings: list[BudgetCrossing]) -> Governor:
    return Governor(backend, clock=clock, on_crossing=crossings.append)


def make_key(org: str | None = None, **fields: Any) -> KeyEntry:
    kid = f"key_{uuid.uuid4().hex[:12]}"
    return KeyEntry(id=kid, name=kid, org_id=org or f"org_{uuid.uuid4().hex[:8]}", key_hash=kid, **fields)


def make_snapshot(key: KeyEntry, *, default_tier: str = "enterprise", on_redis_error: str = "open",
                  orgs: dict[str, OrgConfig] | None = None, **fields: Any) -> Snapshot:
    return dataclasses.replace(
        empty_snapshot(), keys={key.key_hash: key}, default_tier=default_tier, orgs=orgs or {},
        limits=LimitsConfig.model_validate({"on_redis_error": on_redis_error}), alerts=AlertsConfig(), **fields)


def record_for(key: KeyEntry, prompt: int = 0, completion: int = 0, cost: str = "0") -> UsageRecord:
    return UsageRecord(request_id="req_test", org_id=key.org_id, key_id=key.id, key_name=key.name,
                       model_requested="m", prompt_tokens=prompt, completion_tokens=completion,
                       cost_usd=Decimal(cost))


def budget(usd: str, period: str = "monthly", **kw: Any) -> BudgetConfig:
    return BudgetConfig(usd=Decimal(usd), period=period, **kw)  # type: ignore[arg-type]


Maker = Callable[..., KeyEntry]
