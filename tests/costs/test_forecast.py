"""Month-end forecasts on synthetic daily series with answers worked out by hand, from the pure projection
up to the report read from a real usage store (SQLite and PostgreSQL), tag splits, budgets and the
"projected to exceed budget" alert rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bonito.costs.alerts import forecast_alerts
from bonito.costs.forecast import project
from bonito.costs.report import forecast
from bonito.store.governance import AlertRuleRow, BudgetRow
from bonito.store.usage import insert_usage
from bonito.usage.record import UsageRecord

D = Decimal


def march(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def days(values: dict[int, int | str]) -> dict[date, Decimal]:
    return {date(2026, 3, d): D(str(v)) for d, v in values.items()}


def test_a_steady_month_ends_where_the_rate_says() -> None:
    # $10 a day from March 1st; at March 15 00:00 there are 17 days left: 140 + 17 × 10 = 310
    f = project(days({d: 10 for d in range(1, 15)}), march(15), date(2026, 3, 1))
    assert (f.month_to_date, f.projected, f.low, f.high, f.daily_rate) == (D(140), D(310), D(310), D(310), D(10))
    assert f.days_used == 7


def test_the_range_uses_the_cheapest_and_the_dearest_recent_day() -> None:
    # days 8..14 cost 4, 6, …, 16 (mean 10); days 1..7 cost 10 each: MTD 140, 17 days left
    series = days({**{d: 10 for d in range(1, 8)}, **{8 + i: 4 + 2 * i for i in range(7)}})
    f = project(series, march(15), date(2026, 3, 1))
    assert (f.month_to_date, f.projected, f.low, f.high) == (D(140), D(310), D(140 + 17 * 4), D(140 + 17 * 16))


def test_days_before_the_first_request_do_not_count_as_zero() -> None:
    # first request March 12; 12..14 cost 30 each, today (15th) $20 by noon: rate 30, 16.5 days left
    f = project(days({12: 30, 13: 30, 14: 30, 15: 20}), march(15, 12), date(2026, 3, 12))
    assert f.days_used == 3
    assert (f.month_to_date, f.projected) == (D(110), D(110) + D("16.5") * 30)


def test_with_no_whole_day_yet_today_so_far_sets_the_rate() -> None:
    # $5 in the first 6 hours is $20 a day; 16.75 days left: 5 + 335 = 340
    f = project(days({15: 5}), march(15, 6), date(2026, 3, 15))
    assert (f.daily_rate, f.projected, f.low, f.high) == (D(20), D(340), D(340), D(340))


def test_early_in_a_month_the_rate_comes_from_the_last_days_of_the_previous_one() -> None:
    series = {date(2026, 3, 25) + timedelta(days=i): D(10) for i in range(8)}  # March 25 .. April 1
    f = project(series, datetime(2026, 4, 2, tzinfo=UTC), date(2026, 3, 1))
    # April so far: the 1st ($10); 29 days left in April at $10
    assert (f.month_to_date, f.projected) == (D(10), D(300))


def _rec(org: str, at: datetime, cost: str, team: str | None = None, key: str = "k1") -> UsageRecord:
    return UsageRecord(request_id=f"r{at.timestamp()}{org}{team}", org_id=org, key_id=key, key_name=key,
                       model_requested="gpt-4o", model_used="gpt-4o", cost_usd=D(cost), status=200,
                       created_at=at, tags={"team": team} if team else None)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
async def test_the_report_reads_the_store_splits_by_tag_and_keeps_orgs_apart(engine: AsyncEngine) -> None:
    records = []
    for d in range(1, 15):  # data spends $6 a day, ml $4 (at two hours of the day); org_b $1000 a day
        records += [_rec("org_a", march(d, 9), "6", "data"), _rec("org_a", march(d, 17), "4", "ml"),
                    _rec("org_b", march(d, 12), "1000", "data")]
    await insert_usage(engine, records)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        session.add(BudgetRow(id="bud_a", org_id="org_a", key_id=None, scope_key="org", usd=D(300),
                              period="monthly", hard=True, created_at=march(1)))
        session.add(BudgetRow(id="bud_t", org_id="org_a", key_id=None, scope_key="org#t", usd=D(200),
                              period="monthly", hard=True, tag={"team": "data"}, created_at=march(1)))
        await session.commit()
        body = await forecast(session, "org_a", march(15), "tag:team")
    # org: $10 a day: 140 so far + 17 × 10 = 310
    assert (body["month_to_date_usd"], body["projected_usd"], body["low_usd"], body["high_usd"]) == (140, 310, 310, 310)
    by = {r["value"]: r for r in body["by_tag"]}
    assert set(by) == {"data", "ml"} and by["data"]["tag"] == "team"
    assert (by["data"]["month_to_date_usd"], by["data"]["projected_usd"]) == (84, 84 + 17 * 6)
    assert (by["ml"]["month_to_date_usd"], by["ml"]["projected_usd"]) == (56, 56 + 17 * 4)
    budgets = {b["id"]: b for b in body["budgets"]}
    assert budgets["bud_a"]["projected_usd"] == 310 and budgets["bud_a"]["projected_to_exceed"] is True
    assert budgets["bud_t"]["projected_usd"] == 186 and budgets["bud_t"]["projected_to_exceed"] is False
    assert "method" in body and body["month"] == "2026-03"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_the_forecast_alert_fires_for_a_budget_projected_over_its_threshold_only(engine: AsyncEngine) -> None:
    await insert_usage(engine, [_rec("org_a", march(d, 9), "10") for d in range(1, 15)])  # heads for $310
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        for bid, usd in (("bud_low", 300), ("bud_high", 400)):
            session.add(BudgetRow(id=bid, org_id="org_a", key_id=None, scope_key=bid, usd=D(usd),
                                  period="monthly", hard=True, created_at=march(1)))
        rule = AlertRuleRow(id="rule1", org_id="org_a", name="heads over", kind="budget_forecast", threshold=100,
                            window_minutes=5, min_requests=1, channels=["in_app"], enabled=True, created_at=march(1))
        session.add(rule)
        await session.commit()
        alerts = await forecast_alerts(session, [rule], march(15))
    assert [a.data["budget_id"] for a in alerts] == ["bud_low"]  # 310 ≥ 100% of 300; 310 < 400
    assert alerts[0].kind == "budget_forecast" and alerts[0].org_id == "org_a"
    assert alerts[0].dedupe_key.endswith(":2026-03")  # once a month
