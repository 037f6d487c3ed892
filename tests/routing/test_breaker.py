"""Circuit breakers through the real server: open after consecutive failures or at an error rate,
half-open probe, close."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.openai_upstream import Fault
from tests.routing.conftest import KEY, Upstreams, start_server
from tests.support.server import BonitoServer

ROUTES = """\
  br:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 2, cooldown_s: 1}
  br-client:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 1, cooldown_s: 30}
  br-solo:
    targets: [{model: a-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 1, cooldown_s: 30}
  br-retry:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 3}
    circuit_breaker: {failure_threshold: 2, cooldown_s: 30}
  br-rate:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 3, cooldown_s: 30, error_rate: 0.5, window_s: 60, min_requests: 6}
  br-no-rate:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 3, cooldown_s: 30}
"""


@pytest.fixture(scope="module")
def server(upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    srv = start_server(tmp_path_factory, upstreams, ROUTES)
    yield srv
    srv.stop()


def _served(server: BonitoServer, route: str) -> tuple[int, str | None, str]:
    r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                   json={"model": route, "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    return r.status_code, r.headers.get("x-bonito-model-used"), r.headers["x-bonito-attempts"]


def test_breaker_opens_half_opens_and_closes(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_always(Fault(503))
    assert _served(server, "br") == (200, "b-model", "2")  # failure 1 on a
    assert _served(server, "br") == (200, "b-model", "2")  # failure 2: the breaker opens
    assert _served(server, "br") == (200, "b-model", "1")  # a skipped, not counted
    assert _served(server, "br") == (200, "b-model", "1")
    assert len(up.a.requests) == 2
    time.sleep(1.1)
    assert _served(server, "br") == (200, "b-model", "2")  # the half-open probe fails: open again
    assert len(up.a.requests) == 3
    assert _served(server, "br") == (200, "b-model", "1")
    up.a.fail_always(None)
    time.sleep(1.1)
    assert _served(server, "br") == (200, "a-model", "1")  # the probe succeeds: closed
    assert _served(server, "br") == (200, "a-model", "1")
    assert len(up.a.requests) == 5


def test_client_caused_4xx_does_not_open_the_breaker(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_always(Fault(400, message="bad request", error_type="invalid_request_error"))
    for _ in range(3):
        assert _served(server, "br-client")[0] == 400
    up.a.fail_always(None)
    assert _served(server, "br-client") == (200, "a-model", "1")


def test_every_breaker_open_answers_503_with_no_calls(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_always(Fault(500))
    assert _served(server, "br-solo")[0] == 502
    status, used, attempts = _served(server, "br-solo")
    assert (status, used, attempts) == (503, None, "0")
    assert len(up.a.requests) == 1


def test_retries_stop_once_the_breaker_opens(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_always(Fault(503))
    # threshold 2 < max_attempts 3: the third call would go to an open breaker, so b answers
    assert _served(server, "br-retry") == (200, "b-model", "3")
    assert len(up.a.requests) == 2


def test_a_target_failing_every_other_call_is_skipped_once_the_error_rate_trips(
        server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_next(*[Fault(), Fault(503)] * 3)
    served = [_served(server, "br-rate") for _ in range(6)]
    assert served == [(200, "a-model", "1"), (200, "b-model", "2")] * 3  # the 6th call: 3 of 6 failed
    assert [_served(server, "br-rate") for _ in range(4)] == [(200, "b-model", "1")] * 4  # a skipped
    assert len(up.a.requests) == 6


def test_without_error_rate_alternating_failures_never_open_the_breaker(
        server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_next(*[Fault(), Fault(503)] * 6)
    served = [_served(server, "br-no-rate") for _ in range(12)]
    assert served == [(200, "a-model", "1"), (200, "b-model", "2")] * 6  # never 3 failures in a row
    assert _served(server, "br-no-rate") == (200, "a-model", "1")
    assert len(up.a.requests) == 13
