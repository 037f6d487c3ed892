"""Routing and reliability pieces on their own: breakers, conditions, statistics, complexity."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from bonito.config.schema import BreakerConfig, RouteConfig, RuleCondition
from bonito.reliability.breaker import LocalBreakers
from bonito.reliability.redis_breaker import RedisBreakers
from bonito.reliability.retry import RetryPolicy
from bonito.routing.complexity import complexity
from bonito.routing.conditions import holds
from bonito.routing.request import RouteRequest
from bonito.routing.stats import policy_stats
from bonito.usage.pricing import Price
from tests.support.redis import RedisServer, redis_server

__all__ = ["redis_server"]
CFG = BreakerConfig(failure_threshold=3, cooldown_s=10)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_breaker_state_machine() -> None:
    clock = Clock()
    b = LocalBreakers(clock)
    for _ in range(2):
        assert await b.acquire("k", CFG) == "closed"
        assert b.record("k", CFG, "failure", probe=False)
    b.record("k", CFG, "ok", probe=False)  # a success resets the consecutive count
    for _ in range(2):
        b.record("k", CFG, "failure", probe=False)
    assert not b.record("k", CFG, "failure", probe=False)  # the third in a row opens it
    assert b.state("k", CFG) == "open" and await b.acquire("k", CFG) == "open"
    clock.now += 10
    assert b.state("k", CFG) == "half_open"
    assert await b.acquire("k", CFG) == "probe"
    assert await b.acquire("k", CFG) == "open"  # one probe at a time
    assert not b.record("k", CFG, "failure", probe=True)  # the probe failed: open again
    clock.now += 9.9
    assert await b.acquire("k", CFG) == "open"
    clock.now += 0.1
    assert await b.acquire("k", CFG) == "probe"
    b.record("k", CFG, "cancelled", probe=True)  # the client left: someone else probes
    assert await b.acquire("k", CFG) == "probe"
    assert b.record("k", CFG, "ok", probe=True)
    assert b.state("k", CFG) == "closed" and await b.acquire("k", CFG) == "closed"


async def test_late_results_do_not_move_an_open_breaker() -> None:
    clock = Clock()
    b = LocalBreakers(clock)
    for _ in range(3):
        b.record("k", CFG, "failure", probe=False)
    assert not b.record("k", CFG, "ok", probe=False)  # began before it opened: only the probe decides
    assert b.state("k", CFG) == "open"


async def test_breakers_are_shared_through_redis(redis_server: RedisServer) -> None:
    one, two = RedisBreakers(redis_server.url, refresh_s=0.05), RedisBreakers(redis_server.url, refresh_s=0.05)
    cfg = BreakerConfig(failure_threshold=2, cooldown_s=0.3)
    try:
        assert await one.acquire("r\x1fa", cfg) == "closed" and await two.acquire("r\x1fa", cfg) == "closed"
        one.record("r\x1fa", cfg, "failure", probe=False)
        two.record("r\x1fa", cfg, "failure", probe=False)  # 2 in a row across two workers: open
        await asyncio.sleep(0.2)
        assert await one.acquire("r\x1fa", cfg) == "open" and await two.acquire("r\x1fa", cfg) == "open"
        await asyncio.sleep(0.3)
        first, second = await one.acquire("r\x1fa", cfg), await two.acquire("r\x1fa", cfg)
        assert sorted([first, second]) == ["open", "probe"]  # exactly one worker probes
        prober = one if first == "probe" else two
        for b in (one, two):
            b.record("r\x1fa", cfg, "ok", probe=b is prober)
        await asyncio.sleep(0.2)
        assert await one.acquire("r\x1fa", cfg) == "closed" and await two.acquire("r\x1fa", cfg) == "closed"
    finally:
        await one.aclose()
        await two.aclose()


def _cond(**kw: Any) -> RuleCondition:
    return RuleCondition.model_validate(kw)


def test_conditions_and_or_and_fields() -> None:
    req = RouteRequest({"model": "m", "messages": [{"role": "user", "content": "x" * 400}], "max_tokens": 50,
                        "metadata": {"tier": "gold"}, "response_format": {"type": "json_object"}},
                       b'{"team": "ml", "tier": "silver"}')
    assert holds(_cond(field="metadata.tier", value="gold"), req)  # the body wins over the header
    assert holds(_cond(field="metadata.team", op="in", value=["ml", "ops"]), req)
    assert holds(_cond(field="response_format.type", value="json_object"), req)
    assert holds(_cond(field="prompt_tokens", op="gte", value=100), req)
    assert holds(_cond(field="message_count", value=1), req)
    assert not holds(_cond(field="temperature", op="exists"), req)
    assert holds(_cond(field="temperature", op="ne", value=1), req)
    assert not holds(_cond(field="temperature", op="gt", value=0), req)
    both = _cond(all=[{"field": "max_tokens", "op": "lt", "value": 100}, {"field": "metadata.team", "value": "x"}])
    either = _cond(any=[{"field": "max_tokens", "op": "lt", "value": 100}, {"field": "metadata.team", "value": "x"}])
    assert not holds(both, req) and holds(either, req)


def test_rule_config_is_validated() -> None:
    with pytest.raises(ValueError, match="exactly one of field, all or any"):
        RuleCondition.model_validate({"field": "a", "all": []})
    with pytest.raises(ValueError, match="exactly one of route or targets"):
        RouteConfig.model_validate({"targets": [{"model": "a"}], "rules": [{"when": {"field": "a"}}]})
    with pytest.raises(ValueError, match="regular expression"):
        RuleCondition.model_validate({"field": "user", "op": "matches", "value": "("})


def test_retry_policy_honours_retry_after_and_backs_off() -> None:
    policy = RetryPolicy(base_s=0.1, cap_s=1.0, max_retry_after_s=10)
    assert policy.delay(1, 2.5) == 2.5
    assert policy.delay(1, 11) is None  # longer than we wait: try the next target
    assert all(0 <= (policy.delay(n, None) or 0) <= min(1.0, 0.1 * 2 ** (n - 1)) for n in range(1, 6))


def test_complexity_ranks_hard_prompts_above_easy_ones() -> None:
    easy = "What is the capital of France?\nA. Paris\nB. Rome\nC. Madrid\nD. Berlin\nAnswer:"
    hard = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May? Write a python function too.")
    assert 0 <= complexity(easy) < 0.5 <= complexity(hard) <= 1


def test_policy_stats_distribution_failovers_cost_and_savings() -> None:
    decision = {"considered": ["cheap", "dear"], "order": ["cheap", "dear"]}
    rows = [
        {"route": "r", "model_used": "cheap", "status": 200, "cost_usd": "0.001", "prompt_tokens": 1000,
         "completion_tokens": 0, "attempts": 1, "decision": decision, "latency_ms": 10},
        {"route": "r", "model_used": "dear", "status": 200, "cost_usd": "0.01", "prompt_tokens": 1000,
         "completion_tokens": 0, "attempts": 2, "decision": decision, "latency_ms": 30},
        {"route": "r", "model_used": "cheap", "status": 502, "cost_usd": "0", "prompt_tokens": 0,
         "completion_tokens": 0, "attempts": 3, "decision": decision, "latency_ms": 20},
        {"route": None, "model_used": "x", "status": 200, "cost_usd": "5"},
    ]
    prices = {"cheap": Price(Decimal(1), Decimal(1)), "dear": Price(Decimal(10), Decimal(10))}
    stats = policy_stats(rows, prices)
    assert list(stats) == ["r"]
    s = stats["r"].as_dict()
    assert (s["requests"], s["errors"], s["failovers"], s["retried"]) == (3, 1, 1, 2)
    assert s["distribution"] == {"cheap": {"requests": 1, "share": 0.5}, "dear": {"requests": 1, "share": 0.5}}
    assert Decimal(s["cost_usd"]) == Decimal("0.011")
    assert Decimal(s["baseline_cost_usd"]) == Decimal("0.02")  # both at the dearest target's price
    assert Decimal(s["savings_usd"]) == Decimal("0.009")
    assert policy_stats(rows)["r"].as_dict()["savings_usd"] is None  # no prices, no claim
