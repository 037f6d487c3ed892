"""Budgets per key and org: hard caps refuse, soft caps only alert, periods reset on UTC
boundaries, throttling only where configured; spend is exact decimal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bonito.config.schema import OrgConfig, ThrottleConfig
from bonito.limits.base import BudgetCrossing, LimitExceeded
from bonito.limits.governor import Governor
from bonito.limits.periods import period_end, period_id, period_start
from tests.limits.conftest import BODY, Clock, budget, make_key, make_snapshot, record_for


async def spend(governor: Governor, key, snap, cost: str) -> None:  # type: ignore[no-untyped-def]
    decision = await governor.check(key, snap, BODY)
    await governor.settle(decision, record_for(key, prompt=1, cost=cost))


async def test_hard_budget_refuses_once_spend_reaches_it_then_resets_at_the_month_boundary(
        governor: Governor, clock: Clock) -> None:
    key = make_key(requests_per_minute=1000, budget=budget("1"))
    snap = make_snapshot(key)
    for _ in range(4):  # four calls of exactly $0.25 spend exactly $1.00
        await spend(governor, key, snap, "0.25")
    with pytest.raises(LimitExceeded) as refused:
        await governor.check(key, snap, BODY)
    err = refused.value
    assert (err.status, err.code) == (429, "budget_exceeded")
    assert dict(err.headers)[b"retry-after"] == b"60"  # the clock stands at 23:59 on Jan 31
    clock.advance(60)  # February: a new period
    await spend(governor, key, snap, "0.25")


async def test_a_call_that_starts_under_budget_is_served(governor: Governor) -> None:
    key = make_key(requests_per_minute=1000, budget=budget("1", "daily"))
    snap = make_snapshot(key)
    first = await governor.check(key, snap, BODY)
    second = await governor.check(key, snap, BODY)  # both start at $0
    await governor.settle(first, record_for(key, cost="0.75"))
    await governor.settle(second, record_for(key, cost="0.75"))
    with pytest.raises(LimitExceeded):
        await governor.check(key, snap, BODY)


async def test_soft_budget_alerts_at_each_threshold_once_and_never_refuses(
        governor: Governor, crossings: list[BudgetCrossing]) -> None:
    key = make_key(requests_per_minute=1000, budget=budget("10", "weekly", hard=False))
    snap = make_snapshot(key)
    for _ in range(12):
        await spend(governor, key, snap, "1")
    assert [c.threshold for c in crossings] == [50, 80, 100]
    assert [str(c.spend_usd) for c in crossings] == ["5", "8", "10"]
    assert crossings[0].budget.scope == "key" and crossings[0].budget.owner == key.id


async def test_org_budget_counts_every_key_of_the_org(governor: Governor,
                                                      crossings: list[BudgetCrossing]) -> None:
    a, b = make_key(org="org_budget", requests_per_minute=100), make_key(org="org_budget", requests_per_minute=100)
    snap = make_snapshot(a, orgs={"org_budget": OrgConfig(budget=budget("2", "daily"))})
    await spend(governor, a, snap, "1")
    await spend(governor, b, snap, "0.6")
    assert [(c.budget.scope, c.threshold) for c in crossings] == [("org", 50), ("org", 80)]
    await spend(governor, a, snap, "0.4")
    with pytest.raises(LimitExceeded) as refused:
        await governor.check(b, snap, BODY)
    assert "organization" in refused.value.message


async def test_throttling_applies_only_where_configured(governor: Governor) -> None:
    throttled = make_key(requests_per_minute=100,
                         budget=budget("1", throttle=ThrottleConfig(at_percent=50, requests_per_minute=2)))
    snap = make_snapshot(throttled)
    await spend(governor, throttled, snap, "0.5")  # reaches 50 %: now 2 a minute (1 used already)
    await governor.check(throttled, snap, BODY)
    with pytest.raises(LimitExceeded) as refused:
        await governor.check(throttled, snap, BODY)
    assert refused.value.type == "rate_limit_exceeded"
    plain = make_key(requests_per_minute=100, budget=budget("1"))
    snap = make_snapshot(plain)
    await spend(governor, plain, snap, "0.9")
    for _ in range(5):
        await governor.check(plain, snap, BODY)


def test_periods_are_utc_calendar_boundaries() -> None:
    at = datetime(2024, 12, 31, 15, 30, tzinfo=UTC)  # a Tuesday
    assert period_start("daily", at) == datetime(2024, 12, 31, tzinfo=UTC)
    assert period_end("daily", at) == datetime(2025, 1, 1, tzinfo=UTC)
    assert period_start("weekly", at) == datetime(2024, 12, 30, tzinfo=UTC)
    assert period_end("weekly", at) == datetime(2025, 1, 6, tzinfo=UTC)
    assert period_end("monthly", at) == datetime(2025, 1, 1, tzinfo=UTC)
    assert period_id("monthly", at) != period_id("monthly", period_end("monthly", at))
