"""Failover, retries, Retry-After, timeouts and streams through the real server (official openai SDK)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import openai
import pytest

from tests.fakes.openai_upstream import Fault
from tests.routing.conftest import KEY, Upstreams, start_server
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

ROUTES = """\
  fo:
    strategy: failover
    targets: [{model: a-model}, {model: b-model}, {model: c-model}]
    retries: {max_attempts: 2}
  pair:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 3}
  solo:
    targets: [{model: a-model}]
    retries: {max_attempts: 3}
  flaky:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 2}
  slow:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    attempt_timeout_s: 0.3
  tight:
    targets: [{model: a-model}]
    retries: {max_attempts: 1}
    timeout_s: 0.4
"""
MSG = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(scope="module")
def server(upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    srv = start_server(tmp_path_factory, upstreams, ROUTES)
    yield srv
    srv.stop()


def _chat(server: BonitoServer, model: str, rid: str | None = None, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}"}
    if rid:
        headers["x-request-id"] = rid
    return httpx.post(server.url + "/v1/chat/completions", headers=headers,
                      json={"model": model, "messages": MSG, **kw}, timeout=30)


def test_failover_tries_targets_in_order_and_counts_every_call(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_always(Fault(503))
    up.b.fail_always(Fault(500))
    raw = server.openai(KEY).chat.completions.with_raw_response.create(model="fo", messages=MSG)
    assert raw.parse().choices[0].message.content == up.c.reply
    assert raw.headers["x-bonito-model-used"] == "c-model"
    assert raw.headers["x-bonito-attempts"] == "5"  # a twice, b twice, c once
    assert up.calls() == (2, 2, 1)
    assert raw.parse().model == "c-model"  # the answering target's public name


def test_first_target_answers_when_healthy(server: BonitoServer, up: Upstreams) -> None:
    raw = server.openai(KEY).chat.completions.with_raw_response.create(model="fo", messages=MSG)
    assert raw.headers["x-bonito-model-used"] == "a-model"
    assert raw.headers["x-bonito-attempts"] == "1"
    assert up.calls() == (1, 0, 0)


def test_retry_honours_retry_after(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_next(Fault(429, retry_after=0.6))
    started = time.monotonic()
    r = _chat(server, "pair")
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.55  # it waited as the upstream asked
    assert r.headers["x-bonito-model-used"] == "a-model" and r.headers["x-bonito-attempts"] == "2"


def test_retry_after_beyond_the_cap_moves_to_the_next_target(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_next(Fault(429, retry_after=120))
    r = _chat(server, "pair")
    assert r.status_code == 200
    assert r.headers["x-bonito-model-used"] == "b-model" and r.headers["x-bonito-attempts"] == "2"


def test_retries_stop_at_max_attempts(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_always(Fault(502))
    with pytest.raises(openai.APIStatusError) as err:
        server.openai(KEY).chat.completions.create(model="solo", messages=MSG)
    assert err.value.status_code == 502
    assert err.value.response.headers["x-bonito-attempts"] == "3"
    assert len(up.a.requests) == 3


def test_client_caused_4xx_is_passed_through_without_retry_or_failover(server: BonitoServer,
                                                                         up: Upstreams) -> None:
    up.a.fail_next(Fault(400, message="bad temperature", error_type="invalid_request_error",
                         param="temperature"))
    r = _chat(server, "pair")
    assert r.status_code == 400 and r.json()["error"]["message"] == "bad temperature"
    assert r.headers["x-bonito-attempts"] == "1"
    assert up.calls() == (1, 0, 0)


def test_stream_retries_before_first_chunk(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_next(Fault(503))
    raw = server.openai(KEY).chat.completions.with_raw_response.create(model="pair", messages=MSG, stream=True)
    assert raw.headers["x-bonito-attempts"] == "2" and raw.headers["x-bonito-model-used"] == "a-model"
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == up.a.reply


def test_stream_is_never_retried_after_its_first_chunk(server: BonitoServer, up: Upstreams) -> None:
    up.a.chunk_delay_s = 0.05  # so the first chunks reach Bonito before the cut
    up.a.fail_next(Fault(drop_after_chunks=3))
    with httpx.stream("POST", server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "pair", "messages": MSG, "stream": True}, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["x-bonito-attempts"] == "1" and r.headers["x-bonito-model-used"] == "a-model"
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert "upstream_stream_failed" in events[-2]
    assert up.calls() == (1, 0, 0)  # no second call, to a or anyone


def test_per_attempt_timeout_falls_over(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_always(Fault(delay_s=2.0))
    r = _chat(server, "slow")
    assert r.status_code == 200
    assert r.headers["x-bonito-model-used"] == "b-model" and r.headers["x-bonito-attempts"] == "2"


def test_total_timeout_answers_504(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_always(Fault(delay_s=2.0))
    r = _chat(server, "tight")
    assert r.status_code == 504
    assert r.json()["error"]["type"] == "timeout"


def test_one_usage_record_per_request_charging_only_the_answering_call(server: BonitoServer,
                                                                         up: Upstreams) -> None:
    up.a.fail_next(Fault(500), Fault(503))
    r = _chat(server, "fo", rid="routing-once-1")
    assert r.status_code == 200 and r.headers["x-bonito-model-used"] == "b-model"
    (row,) = wait_rows(server.workdir, "request_id = ?", ("routing-once-1",))
    time.sleep(0.5)  # a second record would have been written by now
    assert len(wait_rows(server.workdir, "request_id = ?", ("routing-once-1",))) == 1
    usage = r.json()["usage"]
    # b-model: $1 / Mtok in and out; cost stored in pico-USD
    assert Decimal(int(row["cost_usd"])) / 10**12 == Decimal(usage["prompt_tokens"] + usage["completion_tokens"]) / 10**6
    assert row["attempts"] == 3 and row["route"] == "fo" and row["model_used"] == "b-model"
    decision = json.loads(row["decision"])
    assert decision["strategy"] == "failover" and decision["order"] == ["a-model", "b-model", "c-model"]
    assert [(a["model"], a["outcome"], a["status"]) for a in decision["attempts"]] == [
        ("a-model", "error", 500), ("a-model", "error", 503), ("b-model", "ok", 200)]
    assert all(a["latency_ms"] >= 0 for a in decision["attempts"])


def test_clients_see_no_errors_when_one_upstream_fails_half_the_time(server: BonitoServer,
                                                                      up: Upstreams) -> None:
    rng = random.Random(7)
    up.a.fail_next(*[Fault(rng.choice([500, 502, 503, 529])) if rng.random() < 0.5 else Fault()
                     for _ in range(400)])
    client = server.openai(KEY)
    used = {"a-model": 0, "b-model": 0}
    for i in range(120):
        if i % 3 == 0:
            raw = client.chat.completions.with_raw_response.create(model="flaky", messages=MSG, stream=True)
            assert "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices) == up.a.reply
        else:
            raw = client.chat.completions.with_raw_response.create(model="flaky", messages=MSG)
            assert raw.parse().choices[0].message.content == up.a.reply
        used[raw.headers["x-bonito-model-used"]] += 1
    # both served: the flaky one while it answered, the other when it failed (or its breaker opened)
    assert used["a-model"] > 0 and used["b-model"] > 0
