"""Two gateway processes sharing one real Redis enforce one limit, exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.limits.configs import BUDGET_KEY, MESSAGES, RPM_KEY, TOKEN_KEY, limits_config
from tests.support.redis import RedisServer, redis_server
from tests.support.server import BonitoServer

__all__ = ["redis_server"]


@pytest.fixture(scope="module")
def replicas(upstream: FakeOpenAI, redis_server: RedisServer,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[BonitoServer]]:
    config = limits_config(upstream.url, redis_server.url)
    servers = [BonitoServer(tmp_path_factory.mktemp(f"replica{i}"), config) for i in range(2)]
    for s in servers:
        s.start(wait=False)
    try:
        for s in servers:
            s.wait_healthy()
        yield servers
    finally:
        for s in servers:
            s.stop()


def chat(server: BonitoServer, key: str, **extra: object) -> httpx.Response:
    return httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "quarter", "messages": MESSAGES, **extra}, timeout=10)


async def test_200_concurrent_requests_across_two_replicas_50_succeed(replicas: list[BonitoServer]) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        async def one(i: int) -> httpx.Response:
            return await client.post(replicas[i % 2].url + "/v1/chat/completions",
                                     headers={"Authorization": f"Bearer {RPM_KEY}"},
                                     json={"model": "quarter", "messages": MESSAGES})

        answers = await asyncio.gather(*(one(i) for i in range(200)))
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == 50, statuses
    assert statuses.count(429) == 150
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.json()["error"]["type"] == "rate_limit_exceeded"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit-requests"] == "50"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    ok = next(r for r in answers if r.status_code == 200)
    assert ok.headers["x-ratelimit-limit-requests"] == "50"
    assert "x-ratelimit-reset-requests" in ok.headers


def test_token_limit_counts_real_usage_on_every_replica(replicas: list[BonitoServer]) -> None:
    # each call really uses 13 tokens: 8 calls reach 104 >= 100, whichever replica served them
    statuses = [chat(replicas[i % 2], TOKEN_KEY).status_code for i in range(8)]
    assert statuses == [200] * 8
    refused = chat(replicas[0], TOKEN_KEY)
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_exceeded"
    assert refused.headers["x-ratelimit-limit-tokens"] == "100"
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert chat(replicas[1], TOKEN_KEY).status_code == 429


def test_budget_spent_across_replicas_refuses_with_budget_exceeded(replicas: list[BonitoServer]) -> None:
    # $0.25 a call against $1 a day: streams and JSON answers alike count before they end
    for i in range(4):
        extra = {"stream": True} if i % 2 else {}
        r = chat(replicas[i % 2], BUDGET_KEY, **extra)
        assert r.status_code == 200
    for server in replicas:
        refused = chat(server, BUDGET_KEY)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "budget_exceeded"
        assert int(refused.headers["retry-after"]) >= 1
        # the shared request window reports the four served calls; refusals take nothing from it
        assert refused.headers["x-ratelimit-limit-requests"] == "1000"
        assert refused.headers["x-ratelimit-remaining-requests"] == "996"


def test_ready_names_redis(replicas: list[BonitoServer]) -> None:
    r = httpx.get(replicas[0].url + "/health/ready")
    assert r.status_code == 200
    assert r.json()["redis"] == "ok"
