"""CONTRACT.md "Routes": served by name or rt- key, x-bonito-model-used / x-bonito-attempts (streams and
errors too), breakers exactly as written (default 5/30, one half-open probe), ab_test weights validated."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.server import BonitoServer

KEY = "bn-contract-routes"
ROUTE_KEY = "rt-contract-probe-route"
MSG = [{"role": "user", "content": "hello"}]

ROUTES = """\
  defaults:                       # circuit_breaker omitted: 5 consecutive failures, 30 s
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
  probe:
    key: ROUTE_KEY
    targets: [{model: a-model, weight: 3}, {model: b-model}]
    retries: {max_attempts: 3}
    circuit_breaker: {failure_threshold: 1, cooldown_s: 1}
  consecutive:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 2, cooldown_s: 30}
  streamy:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 1, cooldown_s: 30}
  concurrent:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 1, cooldown_s: 1}
""".replace("ROUTE_KEY", ROUTE_KEY)


def _config(a: FakeOpenAI, b: FakeOpenAI, routes: str) -> str:
    return f"""\
version: 1
providers:
  pa: {{type: openai, base_url: "{a.url}", api_key: sk-upstream}}
  pb: {{type: openai, base_url: "{b.url}", api_key: sk-upstream}}
models:
  a-model: {{provider: pa, model: model-a}}
  b-model: {{provider: pb, model: model-b}}
keys:
  - {{name: routes, key: {KEY}, requests_per_minute: 100000}}
routes:
{routes}"""


@dataclass
class Pair:
    a: FakeOpenAI
    b: FakeOpenAI

    def reset(self) -> None:
        self.a.reset()
        self.b.reset()


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    p = Pair(FakeOpenAI().start(), FakeOpenAI().start())
    yield p
    p.a.stop()
    p.b.stop()


@pytest.fixture
def up(pair: Pair) -> Iterator[Pair]:
    pair.reset()
    yield pair
    pair.reset()


@pytest.fixture(scope="module")
def server(pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("contract-routes"), _config(pair.a, pair.b, ROUTES)) as srv:
        yield srv


def _chat(server: BonitoServer, model: str, key: str = KEY, **body: object) -> httpx.Response:
    return httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": model, "messages": MSG, **body}, timeout=30)


def _served(r: httpx.Response) -> tuple[int, str | None, str]:
    return r.status_code, r.headers.get("x-bonito-model-used"), r.headers["x-bonito-attempts"]


def test_route_is_served_by_name_and_by_its_rt_key_in_either_auth_header(server: BonitoServer, up: Pair) -> None:
    assert _served(_chat(server, "probe")) == (200, "a-model", "1")
    assert _served(_chat(server, "not-a-model", key=ROUTE_KEY)) == (200, "a-model", "1")
    r = httpx.post(server.url + "/v1/chat/completions", headers={"x-api-key": ROUTE_KEY},
                   json={"model": "gpt-4o", "messages": MSG}, timeout=30)
    assert _served(r) == (200, "a-model", "1")
    assert r.json()["model"] == "a-model"
    assert up.a.requests[-1].body["model"] == "model-a"
    # a plain model answers the headers too
    assert _served(_chat(server, "b-model")) == (200, "b-model", "1")


def test_route_key_is_not_capped_by_the_default_key_limit(server: BonitoServer, up: Pair) -> None:
    # an rt- key cannot set requests_per_minute in bonito.yaml: it must not be stuck at a default
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {ROUTE_KEY}"}) as c:
        statuses = {c.post(server.url + "/v1/chat/completions",
                           json={"model": "probe", "messages": MSG}).status_code for _ in range(150)}
    assert statuses == {200}


def test_default_breaker_opens_after_five_consecutive_failures(server: BonitoServer, up: Pair) -> None:
    up.a.fail_always(Fault(503))
    for _ in range(5):
        assert _served(_chat(server, "defaults")) == (200, "b-model", "2")
    # open: a is skipped (not counted) for the 30 s cooldown
    for _ in range(3):
        assert _served(_chat(server, "defaults")) == (200, "b-model", "1")
    assert len(up.a.requests) == 5


def test_failures_must_be_consecutive(server: BonitoServer, up: Pair) -> None:
    up.a.fail_next(Fault(500), Fault(), Fault(500), Fault(), Fault(500))
    assert _served(_chat(server, "consecutive")) == (200, "b-model", "2")
    assert _served(_chat(server, "consecutive")) == (200, "a-model", "1")  # success: the count starts over
    assert _served(_chat(server, "consecutive")) == (200, "b-model", "2")
    assert _served(_chat(server, "consecutive")) == (200, "a-model", "1")
    assert _served(_chat(server, "consecutive")) == (200, "b-model", "2")
    assert _served(_chat(server, "consecutive")) == (200, "a-model", "1")  # never 2 in a row: never opened
    assert len(up.a.requests) == 6


def test_half_open_probe_is_one_call_without_retries(server: BonitoServer, up: Pair) -> None:
    up.a.fail_always(Fault(502))
    # threshold 1: the first failure opens it, so the route's 3 attempts stop at one on a
    assert _served(_chat(server, "probe")) == (200, "b-model", "2")
    assert _served(_chat(server, "probe")) == (200, "b-model", "1")
    time.sleep(1.1)
    # the probe fails: open for another cooldown, with no retry on a
    assert _served(_chat(server, "probe")) == (200, "b-model", "2")
    assert _served(_chat(server, "probe")) == (200, "b-model", "1")
    assert len(up.a.requests) == 2
    up.a.fail_always(None)
    time.sleep(1.1)
    assert _served(_chat(server, "probe")) == (200, "a-model", "1")  # the probe succeeds: closed
    assert _served(_chat(server, "probe")) == (200, "a-model", "1")


def test_only_one_request_probes_while_half_open(server: BonitoServer, up: Pair) -> None:
    up.a.fail_always(Fault(503))
    assert _served(_chat(server, "concurrent")) == (200, "b-model", "2")
    time.sleep(1.1)
    up.a.fail_always(Fault(503, delay_s=0.5))  # a slow failing probe
    results: list[tuple[int, str | None, str]] = []

    def one() -> None:
        results.append(_served(_chat(server, "concurrent")))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(up.a.requests) == 2, "more than one half-open probe was sent"
    assert sorted(results) == [(200, "b-model", "1")] * 5 + [(200, "b-model", "2")]


def test_stream_headers_and_breaker_on_streams(server: BonitoServer, up: Pair) -> None:
    up.a.fail_always(Fault(500))
    with httpx.stream("POST", server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "streamy", "messages": MSG, "stream": True}, timeout=30) as r:
        assert r.status_code == 200
        assert (r.headers["x-bonito-model-used"], r.headers["x-bonito-attempts"]) == ("b-model", "2")
        lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    # the failed stream opened a's breaker: the next stream skips it, uncounted
    with httpx.stream("POST", server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "streamy", "messages": MSG, "stream": True}, timeout=30) as r:
        assert (r.headers["x-bonito-model-used"], r.headers["x-bonito-attempts"]) == ("b-model", "1")
        r.read()
    assert len(up.a.requests) == 1


# -- ab_test weights ----------------------------------------------------------------------------

def _serve_exit(tmp_path: Path, a: FakeOpenAI, b: FakeOpenAI, targets: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "bonito.yaml"
    cfg.write_text(_config(a, b, f"  split:\n    strategy: ab_test\n    targets: {targets}\n"))
    return subprocess.run([sys.executable, "-m", "bonito", "check-config", str(cfg)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("targets,ok", [
    ("[{model: a-model, weight: 80}, {model: b-model, weight: 20}]", True),
    ("[{model: a-model, weight: 80}, {model: b-model}]", False),
    ("[{model: a-model, weight: 70}, {model: b-model, weight: 20}]", False),
    ("[{model: a-model, weight: 80}, {model: b-model, weight: 30}]", False),
])
def test_ab_test_weights_are_required_and_sum_to_100(tmp_path: Path, pair: Pair, targets: str, ok: bool) -> None:
    out = _serve_exit(tmp_path, pair.a, pair.b, targets)
    assert (out.returncode == 0) == ok, out.stdout + out.stderr
    if not ok:
        assert "routes.split" in out.stderr and "weight" in out.stderr
        assert "Traceback" not in out.stderr


def test_serve_refuses_an_ab_test_route_without_weights(tmp_path: Path, pair: Pair) -> None:
    cfg = tmp_path / "bonito.yaml"
    cfg.write_text(_config(pair.a, pair.b, "  split:\n    strategy: ab_test\n    targets: [{model: a-model}]\n"))
    out = subprocess.run([sys.executable, "-m", "bonito", "serve", "--config", str(cfg), "--port", "1"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "weight" in out.stderr and "Traceback" not in out.stderr
