"""CONTRACT.md "Limits and budgets" from outside: `--workers 1` without Redis is exact in-process
(requests, tokens, budgets), refusals are shaped as written, and a Redis that is unreachable from
the start is survived in both `on_redis_error` modes and picked up within 10 s once it answers."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.limits.configs import BUDGET_KEY, MESSAGES, RPM_KEY, SMALL_KEY, TOKEN_KEY, limits_config
from tests.support.ports import free_port
from tests.support.redis import RedisServer
from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def server(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("contract-limits"), limits_config(upstream.url, None),
                      workers=1) as srv:
        yield srv


def _chat(server: BonitoServer, key: str, **extra: object) -> httpx.Response:
    return httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "quarter", "messages": MESSAGES, **extra}, timeout=10)


def _refusal(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 429, r.text
    assert r.headers["x-request-id"]
    assert int(r.headers["retry-after"]) >= 1
    err = r.json()["error"]
    assert {"message", "type", "param", "code"} <= set(err)
    return err  # type: ignore[no-any-return]


def test_one_worker_without_redis_enforces_requests_per_minute_exactly(server: BonitoServer,
                                                                       fake: FakeOpenAI) -> None:
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=120, max_keepalive_connections=120)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            return await asyncio.gather(*(client.post(
                server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {RPM_KEY}"},
                json={"model": "quarter", "messages": MESSAGES}) for _ in range(120)))

    answers = asyncio.run(run())
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 50 and statuses.count(429) == 70, statuses
    refused = next(r for r in answers if r.status_code == 429)
    err = _refusal(refused)
    assert err["type"] == "rate_limit_exceeded"
    assert refused.headers["x-ratelimit-limit-requests"] == "50"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"]


def test_tokens_per_minute_counts_real_usage_in_process(server: BonitoServer, fake: FakeOpenAI) -> None:
    # 13 real tokens a call against 100 a minute: the 8th call reaches 104, the 9th is refused
    assert [_chat(server, TOKEN_KEY, **({"stream": True} if i % 2 else {})).status_code
            for i in range(8)] == [200] * 8
    err = _refusal(_chat(server, TOKEN_KEY))
    assert err["type"] == "rate_limit_exceeded"


def test_four_quarter_dollar_calls_spend_exactly_the_one_dollar_budget(server: BonitoServer,
                                                                       fake: FakeOpenAI) -> None:
    for i in range(4):
        assert _chat(server, BUDGET_KEY, **({"stream": True} if i % 2 else {})).status_code == 200
    refused = _chat(server, BUDGET_KEY)
    err = _refusal(refused)
    assert err["code"] == "budget_exceeded"
    # like every 429, it says where the key's request window stands (four calls served of 1,000)
    assert refused.headers["x-ratelimit-limit-requests"] == "1000"
    assert 994 <= int(refused.headers["x-ratelimit-remaining-requests"]) <= 996
    assert refused.headers["x-ratelimit-reset-requests"]
    assert _refusal(_chat(server, BUDGET_KEY, stream=True))["code"] == "budget_exceeded"


# -- Redis unreachable from the start ---------------------------------------------------------

def _timed(server: BonitoServer) -> tuple[int, float]:
    started = time.monotonic()
    r = _chat(server, SMALL_KEY)
    return r.status_code, time.monotonic() - started


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_redis_down_at_start_then_answering(upstream: FakeOpenAI, tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet
    url = f"redis://127.0.0.1:{port}/0"
    servers = {mode: BonitoServer(tmp_path / mode, limits_config(upstream.url, url, on_redis_error=mode))
               for mode in ("open", "closed")}
    redis: RedisServer | None = None
    try:
        for s in servers.values():
            s.start(wait=False)
        for s in servers.values():
            s.wait_healthy()
        is_open, closed = servers["open"], servers["closed"]
        for _ in range(4):
            status, took = _timed(is_open)
            assert status == 200 and took < 5
            status, took = _timed(closed)
            assert status in (429, 503) and took < 5
        for s, code in ((is_open, 200), (closed, 503)):
            assert httpx.get(s.url + "/health", timeout=5).status_code == 200
            ready = httpx.get(s.url + "/health/ready", timeout=10)
            assert ready.status_code == code
            assert ready.json()["redis"] == "down" and ready.json()["database"] == "ok"

        redis = RedisServer(tmp_path / "redis", port=port).start()
        back = time.monotonic()
        while True:
            states = [httpx.get(s.url + "/health/ready", timeout=10) for s in (is_open, closed)]
            if all(r.status_code == 200 and r.json()["redis"] == "ok" for r in states):
                break
            assert time.monotonic() - back < 10, [r.text for r in states]
            time.sleep(0.2)
        # one exact shared limit of 3 a minute again
        statuses = [_timed(s)[0] for s in (closed, is_open, closed, is_open)]
        assert statuses == [200, 200, 200, 429]
        assert time.monotonic() - back < 10
    finally:
        for s in servers.values():
            s.stop()
        if redis is not None:
            redis.stop()
