"""Each recommendation fires on usage crafted for it, with the saving worked out by hand, and not on its
control; another org's usage never shows in an org's recommendations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bonito.costs.recommend import Inventory, PricedModel, family, recommendations
from bonito.store.usage import insert_usage
from bonito.usage.pricing import Price
from bonito.usage.record import UsageRecord

NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)
GPT4O = PricedModel("gpt-4o", "gpt-4o", "openai", Price(Decimal("2.5"), Decimal(10), Decimal("1.25")))
MINI = PricedModel("gpt-4o-mini", "gpt-4o-mini", "openai", Price(Decimal("0.15"), Decimal("0.6")))
SONNET = PricedModel("sonnet", "claude-sonnet-4-5", "anthropic", Price(Decimal(3), Decimal(15)))
MODELS = (GPT4O, MINI, SONNET)


def rec(model: str, prompt: int, completion: int, *, org: str = "org_a", key: str = "k1", days_ago: float = 1,
        h: str | None = None, cost: Decimal | None = None) -> UsageRecord:
    price = {m.name: m.price for m in MODELS}.get(model, Price(Decimal(1), Decimal(1)))
    return UsageRecord(request_id="r", org_id=org, key_id=key, key_name=key, model_requested=model, model_used=model,
                       prompt_tokens=prompt, completion_tokens=completion, status=200, request_hash=h,
                       cost_usd=price.cost(prompt, completion) if cost is None else cost,
                       created_at=NOW - timedelta(days=days_ago))


async def recs(engine: AsyncEngine, records: Sequence[UsageRecord], inv: Inventory | None = None,
               org: str = "org_a") -> list[dict[str, Any]]:
    await insert_usage(engine, records)
    async with async_sessionmaker(engine)() as session:
        return await recommendations(session, org, inv or Inventory(MODELS, [], []), NOW)


def of(kind: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in found if r["kind"] == kind]


def spread(n: int) -> list[float]:
    """n days-ago values across the last 30 days, the first 29.5 days ago (so 30 days are covered)."""
    return [29.5 * (i + 1) / n for i in range(n)]


def test_families() -> None:
    bedrock = PricedModel("c", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "bedrock", MINI.price)
    nova = PricedModel("n", "amazon.nova-pro-v1:0", "bedrock", MINI.price)
    assert [family(m) for m in (GPT4O, MINI, SONNET, bedrock, nova)] == ["gpt", "gpt", "claude", "claude", "nova"]


async def test_short_requests_on_a_dear_model_point_to_its_cheaper_sibling(engine: AsyncEngine) -> None:
    # 20 short calls on gpt-4o: 500 × 2.5 + 100 × 10 = 2,250 µ$ each; on gpt-4o-mini 500 × 0.15 + 100 × 0.6 = 135 µ$
    found = of("cheaper_model", await recs(engine, [rec("gpt-4o", 500, 100, days_ago=d) for d in spread(20)]))
    assert len(found) == 1
    r = found[0]
    assert r["details"]["cheaper_model"] == "gpt-4o-mini" and r["details"]["short_requests"] == 20
    assert r["monthly_saving_usd"] == pytest.approx(20 * (0.00225 - 0.000135))  # 0.0423
    assert "gpt-4o-mini" in r["title"] and "20 of 20" in r["evidence"]


async def test_no_cheaper_model_for_the_cheapest_of_a_family_or_for_long_requests(engine: AsyncEngine) -> None:
    found = await recs(engine, [rec("gpt-4o-mini", 500, 100, days_ago=d) for d in spread(20)]
                       + [rec("gpt-4o", 5000, 900, days_ago=d) for d in spread(20)]
                       + [rec("sonnet", 500, 100, days_ago=d) for d in spread(20)])  # no cheaper claude here
    assert of("cheaper_model", found) == []


async def test_repeated_request_bodies_point_to_the_exact_cache(engine: AsyncEngine) -> None:
    # one body sent 6 times at $0.01: the 5 repeats cost $0.05; org_b repeats its own body, for org_b only
    same = [rec("chat-route", 10, 10, h="a" * 32, cost=Decimal("0.01"), days_ago=d) for d in spread(6)]
    other = [rec("chat-route", 10, 10, h="b" * 32, cost=Decimal("0.01"), org="org_b") for _ in range(6)]
    found = of("exact_cache", await recs(engine, same + other))
    assert len(found) == 1
    assert found[0]["details"] == {"model": "chat-route", "repeated_bodies": 1, "repeated_calls": 5}
    assert found[0]["monthly_saving_usd"] == pytest.approx(0.05)


async def test_distinct_request_bodies_are_no_cache_case(engine: AsyncEngine) -> None:
    distinct = [rec("chat-route", 10, 10, h=f"{i:032x}", cost=Decimal("0.01"), days_ago=d)
                for i, d in enumerate(spread(6))]
    assert of("exact_cache", await recs(engine, distinct)) == []


async def test_a_key_with_no_traffic_for_30_days_is_idle_but_a_new_or_busy_one_is_not(engine: AsyncEngine) -> None:
    old = NOW - timedelta(days=40)
    keys = [("k_idle", "idle", old), ("k_busy", "busy", old), ("k_new", "new", NOW - timedelta(days=3))]
    usage = [rec("gpt-4o-mini", 10, 10, key="k_idle", days_ago=35), rec("gpt-4o-mini", 10, 10, key="k_busy")]
    found = of("idle_key", await recs(engine, usage, Inventory(MODELS, [], keys)))
    assert [r["details"]["key_id"] for r in found] == ["k_idle"]
    assert found[0]["monthly_saving_usd"] == 0


async def test_keys_from_the_config_file_are_idle_only_once_the_install_is_30_days_old(engine: AsyncEngine) -> None:
    keys = [("key_a", "a", None), ("key_b", "b", None)]
    young = of("idle_key", await recs(engine, [rec("gpt-4o-mini", 1, 1, key="key_a", days_ago=5)],
                                      Inventory(MODELS, [], keys)))
    assert young == []
    aged = of("idle_key", await recs(engine, [rec("gpt-4o-mini", 1, 1, key="key_a", days_ago=45)],
                                     Inventory(MODELS, [], keys)))
    assert [r["details"]["key_id"] for r in aged] == ["key_b"]


async def test_a_provider_with_no_published_model_is_reported(engine: AsyncEngine) -> None:
    inv = Inventory(MODELS, [("prov_1", "openai-main", 2), ("prov_2", "bedrock-spare", 0)], [])
    found = of("unused_provider", await recs(engine, [], inv))
    assert [(r["details"]["provider_name"], r["monthly_saving_usd"]) for r in found] == [("bedrock-spare", 0)]
    for r in found:
        assert set(r) >= {"kind", "title", "evidence", "monthly_saving_usd"}
