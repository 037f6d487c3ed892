"""Traces: a span per /v1 request with GenAI attributes, a child per upstream call, the caller's trace joined."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.observability.otlp_receiver import CLIENT, SERVER, OTLPReceiver, Span
from tests.observability.traffic import PROMPT, client, config
from tests.support.server import BonitoServer


def otel_env(receiver: OTLPReceiver, **extra: str) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_SERVICE_NAME": "bonito-test", **extra}


@pytest.fixture(scope="module")
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def server(upstream: FakeOpenAI, receiver: OTLPReceiver,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("traced"), config(upstream.url), env=otel_env(receiver)) as srv:
        yield srv


def _traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, parent_id, f"00-{trace_id}-{parent_id}-01"


def _request_span(spans: list[Span], trace_id: str) -> Span | None:
    return next((s for s in spans if s.trace_id == trace_id and s.kind == SERVER), None)


def test_a_request_joins_the_callers_trace_with_genai_attributes(server: BonitoServer, receiver: OTLPReceiver,
                                                                 fake: FakeOpenAI) -> None:
    trace_id, parent_id, traceparent = _traceparent()
    with client(server.url) as c:
        r = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}],
                                      extra_headers={"traceparent": traceparent})
    assert r.usage is not None
    spans = receiver.wait_for(lambda ss: (top := _request_span(ss, trace_id)) is not None
                              and any(s.parent_id == top.span_id for s in ss))
    top = _request_span(spans, trace_id)
    assert top is not None
    assert top.parent_id == parent_id  # the caller's span is its parent
    assert top.service == "bonito-test"
    a = top.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["gen_ai.response.model"] == "gpt-4o-mini"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.usage.input_tokens"] == r.usage.prompt_tokens
    assert a["gen_ai.usage.output_tokens"] == r.usage.completion_tokens
    assert a["http.response.status_code"] == 200
    children = [s for s in spans if s.parent_id == top.span_id]
    assert len(children) == 1
    (call,) = children
    assert call.kind == CLIENT and call.trace_id == trace_id
    assert call.attributes["gen_ai.provider.name"] == "openai"
    assert call.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    # no message content unless asked for
    for s in (top, call):
        assert not any(PROMPT in str(v) or fake.reply in str(v) for v in s.attributes.values())
        assert "gen_ai.input.messages" not in s.attributes


def test_a_child_span_per_upstream_call_and_none_for_a_skipped_target(
        server: BonitoServer, receiver: OTLPReceiver, fake: FakeOpenAI) -> None:
    traces = []
    for _ in range(3):  # `broken` fails twice (its breaker opens), then is skipped
        trace_id, _, traceparent = _traceparent()
        traces.append(trace_id)
        with client(server.url) as c:
            c.chat.completions.create(model="resilient", messages=[{"role": "user", "content": "hi"}],
                                      extra_headers={"traceparent": traceparent})

    def complete(spans: list[Span]) -> bool:
        tops = [_request_span(spans, t) for t in traces]
        return all(t is not None for t in tops) and \
            sum(1 for s in spans if s.kind == CLIENT and s.trace_id in traces) >= 5

    spans = receiver.wait_for(complete)
    calls_per_request = []
    for t in traces:
        top = _request_span(spans, t)
        assert top is not None
        assert top.attributes["gen_ai.request.model"] == "resilient"
        assert top.attributes["gen_ai.response.model"] == "gpt-4o-mini"
        calls = [s for s in spans if s.parent_id == top.span_id]
        assert all(c.kind == CLIENT for c in calls)
        calls_per_request.append([(c.attributes["bonito.model"], c.status_code) for c in calls])
    ok, failed = 0, 2
    for calls in calls_per_request[:2]:
        assert sorted(calls) == [("broken", failed), ("gpt-4o-mini", ok)]
    assert calls_per_request[2] == [("gpt-4o-mini", ok)]


def test_a_stream_is_traced_too(server: BonitoServer, receiver: OTLPReceiver, fake: FakeOpenAI) -> None:
    trace_id, _, traceparent = _traceparent()
    with client(server.url) as c:
        chunks = list(c.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                stream_options={"include_usage": True},
                                                messages=[{"role": "user", "content": PROMPT}],
                                                extra_headers={"traceparent": traceparent}))
    usage = chunks[-1].usage
    assert usage is not None
    spans = receiver.wait_for(lambda ss: _request_span(ss, trace_id) is not None)
    top = _request_span(spans, trace_id)
    assert top is not None
    assert top.attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert top.attributes["bonito.stream"] is True
    assert len([s for s in spans if s.parent_id == top.span_id]) == 1


def test_message_content_only_when_asked(tmp_path: Path, receiver: OTLPReceiver, fake: FakeOpenAI) -> None:
    env = otel_env(receiver, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true")
    with BonitoServer(tmp_path, config(fake.url), env=env) as srv:
        trace_id, _, traceparent = _traceparent()
        with client(srv.url) as c:
            c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}],
                                      extra_headers={"traceparent": traceparent})
        spans = receiver.wait_for(lambda ss: _request_span(ss, trace_id) is not None)
    top = _request_span(spans, trace_id)
    assert top is not None
    assert PROMPT in top.attributes["gen_ai.input.messages"]
    assert fake.reply in top.attributes["gen_ai.output.messages"]


def test_control_plane_requests_are_traced(server: BonitoServer, receiver: OTLPReceiver) -> None:
    import httpx

    trace_id, parent_id, traceparent = _traceparent()
    httpx.get(server.url + "/api/auth/me", headers={"traceparent": traceparent})
    spans = receiver.wait_for(lambda ss: _request_span(ss, trace_id) is not None)
    top = _request_span(spans, trace_id)
    assert top is not None and top.parent_id == parent_id
    assert top.attributes["url.path"] == "/api/auth/me"
    assert top.attributes["http.response.status_code"] == 401


def test_an_unreachable_collector_does_not_hold_the_stop(tmp_path: Path, fake: FakeOpenAI) -> None:
    import time

    from tests.support.ports import free_port

    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}", "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    srv = BonitoServer(tmp_path, config(fake.url), env=env).start()
    with client(srv.url) as c:
        c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    started = time.monotonic()
    assert srv.stop() == 0
    assert time.monotonic() - started < 30
