"""Request and token windows, on the memory backend and on a real Redis, behave the same."""

from __future__ import annotations

import asyncio

import pytest

from bonito.config.schema import OrgConfig, TierConfig
from bonito.limits.base import LimitExceeded
from bonito.limits.governor import Governor
from bonito.limits.redis_backend import RedisBackend
from tests.limits.conftest import BODY, Clock, make_key, make_snapshot, record_for
from tests.support.redis import RedisServer


async def test_requests_refused_once_the_window_is_full_and_served_after_it_moves(
        governor: Governor, clock: Clock) -> None:
    key = make_key(requests_per_minute=3)
    snap = make_snapshot(key)
    for n in range(3):
        decision = await governor.check(key, snap, BODY)
        headers = dict(decision.headers())
        assert headers[b"x-ratelimit-limit-requests"] == b"3"
        assert headers[b"x-ratelimit-remaining-requests"] == str(2 - n).encode()
    clock.advance(20)
    with pytest.raises(LimitExceeded) as refused:
        await governor.check(key, snap, BODY)
    err = refused.value
    assert (err.status, err.type) == (429, "rate_limit_exceeded")
    headers = dict(err.headers)
    assert headers[b"retry-after"] == b"40"
    assert headers[b"x-ratelimit-remaining-requests"] == b"0"
    assert headers[b"x-ratelimit-reset-requests"] == b"40s"
    clock.advance(40)
    await governor.check(key, snap, BODY)


async def test_tokens_count_real_usage_of_finished_calls_plus_estimates_in_flight(
        governor: Governor, clock: Clock) -> None:
    key = make_key(tokens_per_minute=100)
    snap = make_snapshot(key)
    first = await governor.check(key, snap, BODY)  # estimate 14 in flight
    assert dict(first.headers())[b"x-ratelimit-remaining-tokens"] == b"86"
    second = await governor.check(key, snap, BODY)  # 28 in flight
    assert dict(second.headers())[b"x-ratelimit-remaining-tokens"] == b"72"
    clock.advance(1)
    await governor.settle(first, record_for(key, prompt=50, completion=30))  # 80 real + 14 in flight
    third = await governor.check(key, snap, BODY)  # 94 + 14
    assert dict(third.headers())[b"x-ratelimit-remaining-tokens"] == b"0"
    with pytest.raises(LimitExceeded) as refused:
        await governor.check(key, snap, BODY)
    assert refused.value.type == "rate_limit_exceeded"
    assert "tokens per minute" in refused.value.message
    assert dict(refused.value.headers)[b"x-ratelimit-limit-tokens"] == b"100"
    # the in-flight calls end having used nothing: only the 80 real tokens remain
    await governor.settle(second, record_for(key))
    await governor.settle(third, record_for(key))
    ok = await governor.check(key, snap, BODY)
    assert dict(ok.headers())[b"x-ratelimit-remaining-tokens"] == b"6"
    # a settled decision is not counted twice
    await governor.settle(first, record_for(key, prompt=50, completion=30))
    clock.advance(60)
    assert dict((await governor.check(key, snap, BODY)).headers())[b"x-ratelimit-remaining-tokens"] == b"86"


async def test_free_tier_caps_the_org_and_a_keys_own_value_wins(governor: Governor) -> None:
    a, b = make_key(org="org_free_a"), make_key(org="org_free_a")
    own = make_key(org="org_free_a", requests_per_minute=40)
    snap = make_snapshot(a, default_tier="free")
    for i in range(30):
        await governor.check(a if i % 2 else b, snap, BODY)
    with pytest.raises(LimitExceeded) as refused:
        await governor.check(b, snap, BODY)
    assert "30 requests per minute for this organization" in refused.value.message
    for _ in range(40):  # its own limit, not the org's
        await governor.check(own, snap, BODY)
    with pytest.raises(LimitExceeded):
        await governor.check(own, snap, BODY)


async def test_pro_tier_and_org_overrides(governor: Governor) -> None:
    key = make_key(org="org_pro_x")
    snap = make_snapshot(key, default_tier="pro")
    decision = await governor.check(key, snap, BODY)
    assert dict(decision.headers())[b"x-ratelimit-limit-requests"] == b"300"
    custom = make_key(org="org_custom")
    snap = make_snapshot(custom, orgs={"org_custom": OrgConfig(tier="enterprise", requests_per_minute=7)},
                         tiers={"enterprise": TierConfig(tokens_per_minute=1000)})
    headers = dict((await governor.check(custom, snap, BODY)).headers())
    assert headers[b"x-ratelimit-limit-requests"] == b"7"
    assert headers[b"x-ratelimit-limit-tokens"] == b"1000"


async def test_enterprise_default_is_the_configured_default_limit(governor: Governor) -> None:
    key = make_key()
    decision = await governor.check(key, make_snapshot(key), BODY)
    assert dict(decision.headers())[b"x-ratelimit-limit-requests"] == b"60"


async def test_two_redis_clients_share_one_exact_limit(redis_server: RedisServer, clock: Clock) -> None:
    key = make_key(requests_per_minute=50)
    snap = make_snapshot(key)
    replicas = [Governor(RedisBackend(redis_server.url, pool_size=5), clock=clock) for _ in range(2)]

    async def one(i: int) -> bool:
        try:
            await replicas[i % 2].check(key, snap, BODY)
        except LimitExceeded:
            return False
        return True

    try:
        results = await asyncio.gather(*(one(i) for i in range(200)))
    finally:
        for r in replicas:
            await r.aclose()
    assert sum(results) == 50
