"""Smart routes through the real server and the openai SDK: the gateway's choice agrees with the scorer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bonito.routing.complexity import complexity
from tests.routing.conftest import KEY, Upstreams, start_server
from tests.routing.smart_support import dev_prompts
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

THRESHOLD = 0.55


class OwnScorer(BaseHTTPRequestHandler):
    """A user's classifier: legal questions need the strong model; "slow" prompts time out."""

    def do_POST(self) -> None:
        prompt = json.loads(self.rfile.read(int(self.headers["content-length"])))["prompt"]
        if "slow" in prompt:
            time.sleep(1.5)
        body = json.dumps({"score": 0.95 if "legal" in prompt else 0.05}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def own_scorer() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OwnScorer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/score"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(upstreams: Upstreams, own_scorer: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[BonitoServer]:
    routes = f"""\
  smart:
    strategy: smart
    smart: {{threshold: {THRESHOLD}}}
    targets: [{{model: c-model}}, {{model: a-model}}]
  tiers:
    strategy: smart
    smart: {{thresholds: [0.45, 0.6]}}
    targets: [{{model: a-model}}, {{model: b-model}}, {{model: c-model}}]
  byo:
    strategy: smart
    smart: {{scorer: "{own_scorer}?token=s3cret-token", scorer_timeout_s: 0.5, threshold: 0.5}}
    targets: [{{model: a-model}}, {{model: c-model}}]
"""
    srv = start_server(tmp_path_factory, upstreams, routes)
    yield srv
    srv.stop()


def _ask(server: BonitoServer, route: str, prompt: str) -> tuple[str, str]:
    """(the model that answered, the request id)."""
    raw = server.openai(KEY).chat.completions.with_raw_response.create(
        model=route, messages=[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": prompt}])
    return raw.headers["x-bonito-model-used"], raw.headers["x-request-id"]


def _decision(server: BonitoServer, rid: str) -> dict[str, object]:
    row = wait_rows(server.workdir, "request_id = ?", (rid,))[0]
    return json.loads(row["decision"])


def test_the_gateway_sends_what_the_scorer_rates_at_or_above_the_threshold_to_the_dearest(
        server: BonitoServer, up: Upstreams) -> None:
    prompts = dev_prompts(40, seed=5)
    expected = ["c-model" if complexity(p) >= THRESHOLD else "a-model" for p in prompts]
    assert {"a-model", "c-model"} <= set(expected)  # the sample crosses the threshold both ways
    used = [_ask(server, "smart", p)[0] for p in prompts]
    assert used == expected
    assert up.c.requests and up.a.requests and not up.b.requests


def test_the_usage_record_names_the_score_threshold_and_scorer(server: BonitoServer, up: Upstreams) -> None:
    prompt = dev_prompts(1, seed=9)[0]
    _, rid = _ask(server, "smart", prompt)
    scores = _decision(server, rid)["scores"]
    assert isinstance(scores, dict)
    assert scores["score"] == round(complexity(prompt), 4)
    assert scores["threshold"] == THRESHOLD and scores["scorer"] == "builtin"


def test_three_targets_form_weak_middle_and_strong_tiers_by_price(server: BonitoServer, up: Upstreams) -> None:
    # b-model is the cheapest (2 $/Mtok in+out), a-model the middle (10.1), c-model the dearest (90)
    tier = {"b-model": "weak", "a-model": "middle", "c-model": "strong"}
    seen = set()
    for p in dev_prompts(40, seed=13):
        s = complexity(p)
        want = "c-model" if s >= 0.6 else "a-model" if s >= 0.45 else "b-model"
        used, rid = _ask(server, "tiers", p)
        assert used == want
        assert _decision(server, rid)["scores"]["tier"] == tier[want]  # type: ignore[index]
        seen.add(used)
    assert seen == {"a-model", "b-model", "c-model"}


def test_your_own_scorer_decides_and_the_builtin_steps_in_when_it_is_slow(
        server: BonitoServer, up: Upstreams, own_scorer: str) -> None:
    used, rid = _ask(server, "byo", "Is this legal in France? Just yes or no.")
    assert used == "c-model"  # the built-in alone would call this short question simple
    scores = _decision(server, rid)["scores"]
    assert scores["score"] == 0.95 and scores["scorer"] == own_scorer  # type: ignore[index]
    assert "s3cret-token" not in json.dumps(scores)  # a token in the URL is never recorded
    used, rid = _ask(server, "byo", "What is 2 + 2? slow")
    assert used == "a-model"
    scores = _decision(server, rid)["scores"]
    assert scores["scorer"] == "builtin" and scores["score"] == round(complexity("What is 2 + 2? slow"), 4)  # type: ignore[index]
    assert "legal" not in server.logs() and "s3cret-token" not in server.logs()


def test_a_smart_route_with_unknown_scorer_settings_is_refused_at_load() -> None:
    from bonito.config.loader import ConfigError, parse_config

    text = """\
version: 1
providers: {p: {type: openai, base_url: "http://127.0.0.1:9", api_key: sk-x}}
models: {m: {provider: p, model: m}}
routes:
  r: {strategy: smart, smart: {thresholds: [0.5], strong_share: 0.3}, targets: [{model: m}]}
"""
    with pytest.raises(ConfigError, match="smart"):
        parse_config(text, environ={})

