"""The breakers' error-rate rule on its own: a window of calls, min_requests, ageing, Redis sharing."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bonito.config.loader import ConfigError, parse_config
from bonito.config.schema import BreakerConfig
from bonito.reliability.breaker import LocalBreakers, Result
from bonito.reliability.redis_breaker import RedisBreakers
from tests.support.redis import RedisServer, redis_server

__all__ = ["redis_server"]
RATE = BreakerConfig(failure_threshold=5, cooldown_s=10, error_rate=0.5, window_s=60, min_requests=4)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _feed(b: LocalBreakers, cfg: BreakerConfig, results: str, key: str = "k") -> list[bool]:
    """Record one call per letter (F failure, S success, C cancelled); what each record answered."""
    kinds: dict[str, Result] = {"F": "failure", "S": "ok", "C": "cancelled"}
    return [b.record(key, cfg, kinds[c], probe=False) for c in results]


def test_opens_at_the_rate_once_min_requests_calls_are_in_the_window() -> None:
    b = LocalBreakers(Clock())
    assert _feed(b, RATE, "SFS") == [True, True, True]  # 1 of 3 failed
    assert b.state("k", RATE) == "closed"
    assert _feed(b, RATE, "F") == [False]  # 2 of 4 failed: 50% >= error_rate
    assert b.state("k", RATE) == "open"


def test_does_not_open_below_min_requests() -> None:
    cfg = RATE.model_copy(update={"min_requests": 20})
    b = LocalBreakers(Clock())
    assert all(_feed(b, cfg, "FFFFS" * 3 + "FFFF"))  # 16 of 19 failed, but only 19 calls
    assert b.state("k", cfg) == "closed"
    assert _feed(b, cfg, "S") == [True]  # the 20th call succeeded: only a failure opens it
    assert _feed(b, cfg, "F") == [False]
    assert b.state("k", cfg) == "open"


def test_failures_age_out_of_the_window() -> None:
    clock = Clock()
    b = LocalBreakers(clock)
    _feed(b, RATE, "FFFS", key="aged")  # at 100 s
    clock.now += 30
    _feed(b, RATE, "FFFS", key="recent")  # at 130 s
    clock.now += 30  # 160 s: a window after the first calls, half a window after the second
    assert _feed(b, RATE, "SSSF", key="aged") == [True] * 4  # 1 of 4 failed: the old 3 are gone
    assert _feed(b, RATE, "SSSF", key="recent") == [True, True, True, False]  # 4 of 8
    assert (b.state("aged", RATE), b.state("recent", RATE)) == ("closed", "open")


def test_alternating_failures_trip_the_rate_but_never_the_consecutive_rule() -> None:
    consecutive = BreakerConfig(failure_threshold=2, cooldown_s=10)
    with_rate = consecutive.model_copy(update={"error_rate": 0.5, "min_requests": 10})
    b = LocalBreakers(Clock())
    assert all(_feed(b, consecutive, "SF" * 50, key="plain"))
    assert b.state("plain", consecutive) == "closed"
    assert _feed(b, with_rate, "SF" * 5, key="rated") == [True] * 9 + [False]  # 5 of 10
    assert b.state("rated", with_rate) == "open"


def test_cancelled_calls_count_for_nothing() -> None:
    cfg = RATE.model_copy(update={"error_rate": 1.0, "min_requests": 2})
    b = LocalBreakers(Clock())
    assert _feed(b, cfg, "FCCCCF") == [True] * 5 + [False]  # 2 of 2 calls failed


async def test_the_window_starts_empty_after_the_breaker_closes() -> None:
    clock = Clock()
    b = LocalBreakers(clock)
    assert _feed(b, RATE, "SFSF")[-1] is False
    clock.now += 10
    assert await b.acquire("k", RATE) == "probe"
    assert b.record("k", RATE, "ok", probe=True)
    assert _feed(b, RATE, "FSF") == [True] * 3  # the 2 failures before it opened are forgotten
    assert b.state("k", RATE) == "closed"


@pytest.mark.parametrize("field,value", [("error_rate", 0), ("error_rate", 1.5), ("window_s", 0),
                                         ("min_requests", 0)])
def test_bad_settings_are_refused_naming_the_field(field: str, value: float) -> None:
    breaker = {"error_rate": 0.5, field: value}
    text = f"""\
version: 1
providers: {{p: {{type: openai, api_key: sk-x}}}}
models: {{m: {{provider: p, model: gpt-4o-mini}}}}
routes:
  r:
    targets: [{{model: m}}]
    circuit_breaker: {{{", ".join(f"{k}: {v}" for k, v in breaker.items())}}}
"""
    with pytest.raises(ConfigError, match=rf"routes\.r\.circuit_breaker\.{field}"):
        parse_config(text, environ={})


def test_the_rate_is_off_by_default() -> None:
    cfg = BreakerConfig()
    assert (cfg.failure_threshold, cfg.cooldown_s, cfg.error_rate) == (5, 30.0, None)


async def test_a_rate_trip_in_one_process_opens_the_breaker_for_all(redis_server: RedisServer) -> None:
    one, two = RedisBreakers(redis_server.url, refresh_s=0.05), RedisBreakers(redis_server.url, refresh_s=0.05)
    client = aioredis.from_url(redis_server.url)
    cfg = RATE.model_copy(update={"cooldown_s": 30})
    try:
        assert await one.acquire("r\x1fquiet", cfg) == "closed"
        assert all(one.record("r\x1fquiet", cfg, "ok", probe=False) for _ in range(10))
        await asyncio.sleep(0.1)
        assert not await client.exists("bonito:cb:r\x1fquiet")  # successes cost no Redis write

        assert await one.acquire("r\x1fa", cfg) == "closed" and await two.acquire("r\x1fa", cfg) == "closed"
        assert [one.record("r\x1fa", cfg, r, probe=False) for r in ("ok", "failure", "ok")] == [True] * 3
        await asyncio.sleep(0.2)
        assert await two.acquire("r\x1fa", cfg) == "closed"
        assert not one.record("r\x1fa", cfg, "failure", probe=False)  # 2 of 4 in one's window, never 2 in a row
        await asyncio.sleep(0.2)
        assert await two.acquire("r\x1fa", cfg) == "open"  # two saw none of those calls
        assert two.state("r\x1fa", cfg) == "open"
    finally:
        await client.aclose()
        await one.aclose()
        await two.aclose()
