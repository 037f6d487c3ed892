"""GET /metrics counts exactly the traffic sent through the openai SDK: one worker, two, and a token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.observability.traffic import PROMPT, client, config, scrape, send_known_traffic, send_parallel
from tests.support.configs import KEY, LIMITED_KEY, basic_config
from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def server(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("metrics"), config(upstream.url)) as srv:
        yield srv


def test_requests_tokens_cost_and_histograms_match_the_traffic(server: BonitoServer, fake: FakeOpenAI) -> None:
    sent = send_known_traffic(server.url)
    m = scrape(server.url)

    ok = {"model": "gpt-4o-mini", "provider": "local-openai", "status": "200"}
    assert m.value("bonito_requests_total", **ok) == sent.answered == 5
    assert m.value("bonito_requests_total", status="403") == 1
    assert m.value("bonito_requests_total", model="", status="404") == 1
    # every counted request is observed once in the duration histogram, under the same model
    assert m.value("bonito_request_duration_seconds_count", model="gpt-4o-mini") == 5
    assert m.value("bonito_request_duration_seconds_bucket", model="gpt-4o-mini", le="+Inf") == 5
    assert m.value("bonito_requests_total", model="", provider="", status="401") == 1
    assert m.value("bonito_request_duration_seconds_count") == m.value("bonito_requests_total") == 8
    assert 0 < m.value("bonito_request_duration_seconds_sum", model="gpt-4o-mini") < 60
    # each streamed answer once in the TTFT histogram
    assert m.value("bonito_time_to_first_token_seconds_count", model="gpt-4o-mini") == sent.streams == 2
    assert m.value("bonito_tokens_total", model="gpt-4o-mini", type="input") == sent.prompt_tokens
    assert m.value("bonito_tokens_total", model="gpt-4o-mini", type="output") == sent.completion_tokens
    assert m.value("bonito_cost_usd_total", model="gpt-4o-mini") == pytest.approx(float(sent.cost), rel=1e-9)
    assert m.value("bonito_upstream_errors_total") == 0
    assert "bonito_usage_pending_records" in m.samples
    # no key, prompt or client-chosen model name in any label
    for secret in (KEY, PROMPT, "no-such-model-zq7", "bn-nobody-has-this-key"):
        assert secret not in m.text


def test_failed_upstream_calls_and_an_open_breaker_are_counted(server: BonitoServer, fake: FakeOpenAI) -> None:
    before = scrape(server.url)
    for _ in range(3):
        with client(server.url) as c:
            r = c.chat.completions.with_raw_response.create(
                model="resilient", messages=[{"role": "user", "content": "hi"}])
        assert r.headers["x-bonito-model-used"] == "gpt-4o-mini"
    m = scrape(server.url)
    # calls 1 and 2 tried `broken` first and failed over; its breaker opened at the second failure,
    # so call 3 skipped it (a skipped target is not a call)
    assert m.value("bonito_upstream_errors_total", provider="dead") == 2
    assert m.value("bonito_upstream_errors_total", provider="local-openai") == 0
    assert m.value("bonito_circuit_breaker_open", route="resilient", target="broken") == 1
    served = {"model": "gpt-4o-mini", "provider": "local-openai", "status": "200"}
    assert m.value("bonito_requests_total", **served) - before.value("bonito_requests_total", **served) == 3


def test_a_failing_upstream_is_counted_once_per_call_and_the_status_is_the_clients(
        server: BonitoServer, fake: FakeOpenAI) -> None:
    before = scrape(server.url)
    fake.fail_always(Fault(status=500))
    with client(server.url) as c, pytest.raises(openai.APIStatusError) as caught:
        c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    fake.fail_always(None)
    assert caught.value.status_code == 502
    m = scrape(server.url)
    failed = {"model": "gpt-4o-mini", "provider": "local-openai", "status": "502"}
    assert m.value("bonito_requests_total", **failed) - before.value("bonito_requests_total", **failed) == 1
    # a plain model is tried twice (one retry): two failed calls
    assert m.value("bonito_upstream_errors_total", provider="local-openai") \
        - before.value("bonito_upstream_errors_total", provider="local-openai") == 2


def test_two_workers_one_scrape_sees_them_all(tmp_path: Path, fake: FakeOpenAI) -> None:
    with BonitoServer(tmp_path, config(fake.url), workers=2) as srv:
        sent = send_known_traffic(srv.url, chats=12, streams=4)
        runs = list((tmp_path / ".bonito" / "metrics").glob("run-*"))
        assert len(runs) == 1

        def workers_seen() -> set[str]:
            return {p.stem.rsplit("_", 1)[-1] for p in runs[0].glob("counter_*.db")}

        for _ in range(10):  # calls at once, until both workers have served some (a loaded machine may
            if len(workers_seen()) == 2:  # let one of them accept everything sent one by one)
                break
            send_parallel(srv.url, sent)
        assert len(workers_seen()) == 2, "the traffic should have reached both workers"
        for _ in range(6):  # whichever worker answers the scrape, it reports every worker's requests
            m = scrape(srv.url)
            ok = {"model": "gpt-4o-mini", "provider": "local-openai", "status": "200"}
            assert m.value("bonito_requests_total", **ok) == sent.answered >= 16
            assert m.value("bonito_requests_total", status="403") == 1
            assert m.value("bonito_request_duration_seconds_count", model="gpt-4o-mini") == sent.answered
            assert m.value("bonito_time_to_first_token_seconds_count", model="gpt-4o-mini") == 4
            assert m.value("bonito_tokens_total", model="gpt-4o-mini", type="input") == sent.prompt_tokens
            assert m.value("bonito_tokens_total", model="gpt-4o-mini", type="output") == sent.completion_tokens
            assert m.value("bonito_cost_usd_total", model="gpt-4o-mini") == pytest.approx(float(sent.cost))
            assert m.value("bonito_usage_pending_records") >= 0
    assert not list((tmp_path / ".bonito" / "metrics").glob("run-*")), "the run's directory is removed at exit"


def test_metrics_token_is_required_when_set(tmp_path: Path, fake: FakeOpenAI) -> None:
    with BonitoServer(tmp_path, config(fake.url), env={"BONITO_METRICS_TOKEN": "scrape-secret-1"}) as srv:
        with client(srv.url) as c:
            c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic scrape-secret-1"}):
            r = httpx.get(srv.url + "/metrics", headers=headers)
            assert r.status_code == 401
            assert "bonito_" not in r.text
        m = scrape(srv.url, token="scrape-secret-1")
        assert m.value("bonito_requests_total", model="gpt-4o-mini", status="200") == 1


def test_limit_refusals_are_counted_by_reason(tmp_path: Path, fake: FakeOpenAI) -> None:

    with BonitoServer(tmp_path, basic_config(fake.url)) as srv:
        statuses = []
        for _ in range(5):  # the `limited` key may make 3 requests a minute
            with client(srv.url, LIMITED_KEY) as c:
                try:
                    c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
                    statuses.append(200)
                except openai.RateLimitError as exc:
                    statuses.append(exc.status_code)
        assert statuses == [200, 200, 200, 429, 429]
        m = scrape(srv.url)
        assert m.value("bonito_limit_refusals_total", reason="rate_limit_exceeded") == 2
        assert m.value("bonito_requests_total", model="gpt-4o-mini", status="429") == 2


def test_the_breaker_gauge_follows_open_and_close(tmp_path: Path, fake: FakeOpenAI) -> None:
    flaky = FakeOpenAI().start()  # a second upstream that can fail on its own
    config_text = f"""\
version: 1
providers:
  local-openai: {{type: openai, base_url: "{fake.url}", api_key: sk-upstream}}
  flaky-upstream: {{type: openai, base_url: "{flaky.url}", api_key: sk-upstream}}
models:
  gpt-4o-mini: {{provider: local-openai, model: gpt-4o-mini}}
  shaky: {{provider: flaky-upstream, model: gpt-4o-mini}}
routes:
  flaky:
    strategy: failover
    targets: [{{model: shaky}}, {{model: gpt-4o-mini}}]
    retries: {{max_attempts: 1}}
    circuit_breaker: {{failure_threshold: 2, cooldown_s: 1}}
keys:
  - {{name: ci, key: {KEY}}}
"""
    try:
        with BonitoServer(tmp_path, config_text) as srv:
            def used() -> str:
                with client(srv.url) as c:
                    r = c.chat.completions.with_raw_response.create(
                        model="flaky", messages=[{"role": "user", "content": "x"}])
                return r.headers["x-bonito-model-used"]

            flaky.fail_always(Fault(status=500))
            assert [used(), used()] == ["gpt-4o-mini", "gpt-4o-mini"]  # shaky failed twice: its breaker opens
            m = scrape(srv.url)
            assert m.value("bonito_circuit_breaker_open", route="flaky", target="shaky") == 1
            assert m.value("bonito_upstream_errors_total", provider="flaky-upstream") == 2
            flaky.fail_always(None)
            time.sleep(1.2)  # the cooldown passes; the next request probes shaky, which now answers
            assert used() == "shaky"
            m = scrape(srv.url)
            assert m.value("bonito_circuit_breaker_open", route="flaky", target="shaky") == 0
            assert m.value("bonito_upstream_errors_total", provider="flaky-upstream") == 2
    finally:
        flaky.stop()
