"""With `redis_url`, a route's breakers are shared by every worker (two workers, one Redis)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fakes.openai_upstream import Fault
from tests.routing.conftest import KEY, Upstreams, routing_config
from tests.support.redis import RedisServer, redis_server
from tests.support.server import BonitoServer

__all__ = ["redis_server"]

ROUTES = """\
  shared:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 2, cooldown_s: 30}
"""


def test_breaker_opened_by_one_worker_is_open_on_all(redis_server: RedisServer, up: Upstreams,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    config = routing_config(up, ROUTES) + f"redis_url: {redis_server.url}\n"
    with BonitoServer(tmp_path_factory.mktemp("shared"), config, workers=2) as server:
        def attempts() -> str:
            r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                           json={"model": "shared", "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
            assert r.status_code == 200 and r.headers["x-bonito-model-used"] == "b-model"
            return r.headers["x-bonito-attempts"]

        up.a.fail_always(Fault(503))
        assert [attempts(), attempts()] == ["2", "2"]  # two failures, wherever they landed: open
        time.sleep(1.0)  # workers pick up breakers others moved within their refresh interval
        assert {attempts() for _ in range(12)} == {"1"}
        assert len(up.a.requests) == 2
