"""Redis killed mid-test: `open` serves, `closed` refuses with 503, both within 5 s, /health
stays 200 and /health/ready reports redis down; within 10 s of its return limits are exact."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.limits.configs import MESSAGES, SMALL_KEY, limits_config
from tests.support.redis import RedisServer, redis_server
from tests.support.server import BonitoServer

__all__ = ["redis_server"]


@pytest.fixture(scope="module")
def pair(upstream: FakeOpenAI, redis_server: RedisServer,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, BonitoServer]]:
    servers = {mode: BonitoServer(tmp_path_factory.mktemp(mode),
                                  limits_config(upstream.url, redis_server.url, on_redis_error=mode))
               for mode in ("open", "closed")}
    for s in servers.values():
        s.start(wait=False)
    try:
        for s in servers.values():
            s.wait_healthy()
        yield servers
    finally:
        for s in servers.values():
            s.stop()


def chat(server: BonitoServer) -> tuple[int, float, dict[str, object]]:
    started = time.monotonic()
    r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {SMALL_KEY}"},
                   json={"model": "quarter", "messages": MESSAGES}, timeout=10)
    return r.status_code, time.monotonic() - started, r.json()


def test_redis_down_then_back(pair: dict[str, BonitoServer], redis_server: RedisServer) -> None:
    is_open, closed = pair["open"], pair["closed"]
    assert [chat(is_open)[0], chat(closed)[0], chat(is_open)[0]] == [200, 200, 200]
    assert chat(closed)[0] == 429  # one shared limit of 3

    redis_server.kill()
    for _ in range(3):
        status, took, _body = chat(is_open)
        assert (status, took < 5) == (200, True)
        status, took, body = chat(closed)
        assert status in (429, 503) and took < 5
        assert body["error"]["code"] == "limits_unavailable"  # type: ignore[index]
    for server, code in ((is_open, 200), (closed, 503)):
        assert httpx.get(server.url + "/health").status_code == 200
        ready = httpx.get(server.url + "/health/ready", timeout=10)
        assert ready.status_code == code
        assert ready.json()["redis"] == "down"

    redis_server.start()  # same port, empty
    back = time.monotonic()
    while True:
        states = [httpx.get(s.url + "/health/ready", timeout=10) for s in (is_open, closed)]
        if all(r.status_code == 200 and r.json()["redis"] == "ok" for r in states):
            break
        assert time.monotonic() - back < 10, [r.text for r in states]
        time.sleep(0.2)
    statuses = [chat(s)[0] for s in (closed, is_open, closed, is_open)]
    assert statuses == [200, 200, 200, 429]
    assert time.monotonic() - back < 10
    assert "unreachable" in closed.logs() and "answers again" in closed.logs()
