"""CONTRACT.md "Config file", "Gateway HTTP API" and "Install and run" (/health), checked from
outside against one real `bonito serve --config` whose bonito.yaml takes its secrets from `${VAR}`s."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.bare_upstream import BareUpstream
from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

KEY = "bn-contract-gateway-key"
HASHED_KEY = "bn-contract-hashed-key"
NARROW_KEY = "bn-contract-narrow"
ONE_RPM_KEY = "bn-contract-one-rpm"
ROUTE_KEY = "rt-contract-route-key"
MESSAGES = [{"role": "user", "content": "Hi"}]  # the fake counts 8 prompt tokens: $0.25 on `quarter`
MB = 1024 * 1024

CONFIG = f"""\
version: 1
providers:
  local-openai:
    type: openai
    base_url: http://127.0.0.1:${{CT_UPSTREAM_PORT}}/v1
    api_key: ${{CT_UPSTREAM_KEY}}
  bare:
    type: openai
    base_url: ${{CT_BARE_URL}}
    api_key: sk-bare
models:
  gpt-4o-mini:
    provider: local-openai
    model: gpt-4o-mini
    input_cost_per_mtok: 0.15
    output_cost_per_mtok: 0.60
  quarter:
    provider: local-openai
    model: gpt-4o-mini
    input_cost_per_mtok: 31250
    output_cost_per_mtok: 0
  text-embedding-3-small:
    provider: local-openai
    model: text-embedding-3-small
  bare-model:
    provider: bare
    model: bare-upstream-id
keys:
  - name: ci
    key: ${{CT_BONITO_KEY}}
    requests_per_minute: 100000
  - name: hashed
    key_sha256: {hashlib.sha256(HASHED_KEY.encode()).hexdigest()}
    requests_per_minute: 100000
  - name: narrow
    key: {NARROW_KEY}
    requests_per_minute: 100000
    allowed_models: [gpt-4o-mini]
  - name: one-rpm
    key: {ONE_RPM_KEY}
    requests_per_minute: 1
routes:
  chat-route:
    key: ${{CT_ROUTE_KEY}}
    targets: [{{model: gpt-4o-mini}}]
limits:
  max_body_mb: 1
"""


@pytest.fixture(scope="module")
def bare() -> Iterator[BareUpstream]:
    # an upstream 400 body with only a message: the client must still get all four keys
    with BareUpstream(400, {"message": "unsupported parameter: 'foo'"}) as up:
        yield up


@pytest.fixture(scope="module")
def server(upstream: FakeOpenAI, bare: BareUpstream, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[BonitoServer]:
    env = {"CT_UPSTREAM_PORT": str(upstream.port), "CT_UPSTREAM_KEY": upstream.api_key, "CT_BARE_URL": bare.url,
           "CT_BONITO_KEY": KEY, "CT_ROUTE_KEY": ROUTE_KEY}
    with BonitoServer(tmp_path_factory.mktemp("contract-gw"), CONFIG, env=env) as srv:
        yield srv


def _post(server: BonitoServer, path: str = "/v1/chat/completions", body: Any = None, key: str | None = KEY,
          headers: dict[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
    h = {"Authorization": f"Bearer {key}"} if key else {}
    h.update(headers or {})
    if content is not None:
        return httpx.post(server.url + path, content=content, headers=h, timeout=30)
    return httpx.post(server.url + path, json=body if body is not None else {"model": "gpt-4o-mini",
                                                                           "messages": MESSAGES},
                      headers=h, timeout=30)


def _openai_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert {"message", "type", "param", "code"} <= set(err), err
    assert isinstance(err["message"], str) and err["message"]
    return err  # type: ignore[no-any-return]


def _sse(r: httpx.Response) -> list[str]:
    return [line[len("data: "):] for line in r.iter_lines() if line.startswith("data: ")]


# -- Config: ${VAR} ---------------------------------------------------------------------------

def test_env_vars_are_substituted_anywhere_in_a_string(server: BonitoServer, fake: FakeOpenAI) -> None:
    # ${CT_UPSTREAM_PORT} sits inside base_url; the key, the provider key and the route key come from env
    r = _post(server)
    assert r.status_code == 200, r.text
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {fake.api_key}"
    assert _post(server, key=ROUTE_KEY, body={"model": "anything", "messages": MESSAGES}).status_code == 200


def test_key_sha256_entry_authenticates_its_plaintext(server: BonitoServer, fake: FakeOpenAI) -> None:
    assert _post(server, key=HASHED_KEY).status_code == 200
    _openai_error(_post(server, key=hashlib.sha256(HASHED_KEY.encode()).hexdigest()), 401)


# -- x-request-id everywhere ------------------------------------------------------------------

def test_every_response_carries_x_request_id_echoing_the_clients(server: BonitoServer, fake: FakeOpenAI) -> None:
    big = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"x" * (2 * MB) + b'"}]}'
    auth = {"Authorization": f"Bearer {KEY}"}
    cases: list[tuple[str, str, dict[str, str], bytes | None, int]] = [
        ("GET", "/health", {}, None, 200),
        ("GET", "/health/ready", {}, None, 200),
        ("GET", "/v1/models", auth, None, 200),
        ("GET", "/v1/models", {}, None, 401),
        ("POST", "/v1/chat/completions", {}, json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode(),
         401),
        ("POST", "/v1/chat/completions", {"Authorization": "Bearer bn-unknown"}, b"{}", 401),
        ("POST", "/v1/chat/completions", {"Authorization": f"Bearer {NARROW_KEY}"},
         json.dumps({"model": "quarter", "messages": MESSAGES}).encode(), 403),
        ("POST", "/v1/chat/completions", auth, json.dumps({"model": "nope", "messages": MESSAGES}).encode(), 404),
        ("POST", "/v1/chat/completions", auth, b"{not json", 400),
        ("POST", "/v1/chat/completions", auth, big, 413),
        ("POST", "/v1/embeddings", auth, b'{"model":"text-embedding-3-small","input":"' + b"y" * (2 * MB) + b'"}',
         413),
        ("GET", "/v1/chat/completions", auth, None, 405),
        ("DELETE", "/v1/embeddings", auth, None, 405),
        ("GET", "/v1/no-such-endpoint", auth, None, 404),
        ("POST", "/v1/chat/completions", auth, json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode(),
         200),
    ]
    for i, (method, path, headers, content, status) in enumerate(cases):
        rid = f"contract-rid-{i}"
        r = httpx.request(method, server.url + path, headers={**headers, "x-request-id": rid,
                                                                "content-type": "application/json"},
                          content=content, timeout=30)
        assert r.status_code == status, (method, path, r.status_code, r.text[:300])
        assert r.headers.get("x-request-id") == rid, (method, path, dict(r.headers))
        if status >= 400:
            _openai_error(r, status)
        # and one is generated when the client sends none
        r2 = httpx.request(method, server.url + path, headers={**headers, "content-type": "application/json"},
                           content=content, timeout=30)
        assert r2.status_code == status
        assert r2.headers.get("x-request-id"), (method, path)
    # a 429 too
    first = _post(server, key=ONE_RPM_KEY)
    second = _post(server, key=ONE_RPM_KEY, headers={"x-request-id": "contract-rid-429"})
    assert first.status_code == 200
    err = _openai_error(second, 429)
    assert second.headers["x-request-id"] == "contract-rid-429"
    assert err["type"] == "rate_limit_exceeded"
    assert int(second.headers["retry-after"]) >= 1
    assert second.headers["x-ratelimit-limit-requests"] == "1"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.headers["x-ratelimit-reset-requests"]


def test_streaming_responses_carry_request_id_and_served_headers(server: BonitoServer, fake: FakeOpenAI) -> None:
    with httpx.stream("POST", server.url + "/v1/chat/completions", timeout=30,
                      headers={"Authorization": f"Bearer {KEY}", "x-request-id": "contract-stream-rid"},
                      json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-request-id"] == "contract-stream-rid"
        assert r.headers["x-bonito-model-used"] == "gpt-4o-mini"
        assert r.headers["x-bonito-attempts"] == "1"
        events = _sse(r)
    assert events[-1] == "[DONE]"
    # an error on a streaming request is a plain JSON error, with the id
    r = _post(server, body={"model": "nope", "messages": MESSAGES, "stream": True},
              headers={"x-request-id": "contract-stream-404"})
    assert _openai_error(r, 404)["code"] == "model_not_found"
    assert r.headers["x-request-id"] == "contract-stream-404"


# -- /health ----------------------------------------------------------------------------------

def test_health_and_ready(server: BonitoServer) -> None:
    r = httpx.get(server.url + "/health")
    assert r.status_code == 200
    ready = httpx.get(server.url + "/health/ready", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    assert "redis" not in ready.json()  # no redis_url configured: not a store it uses


# -- 413 on /v1 and /api ----------------------------------------------------------------------

def test_body_over_max_body_mb_is_413_on_v1_and_api(server: BonitoServer) -> None:
    over = b'{"model":"gpt-4o-mini","prompt":"' + b"z" * (MB + 10) + b'"}'
    _openai_error(_post(server, "/v1/completions", content=over), 413)
    # the limit holds before authentication: nobody can make the server read a huge body
    _openai_error(_post(server, "/v1/chat/completions", key=None, content=over), 413)
    under = b'{"model":"gpt-4o-mini","prompt":"' + b"z" * (MB - 100) + b'"}'
    assert _post(server, "/v1/completions", content=under).status_code == 200
    for path in ("/api/auth/login", "/api/auth/register", "/api/providers"):
        r = httpx.post(server.url + path, content=b'{"email":"' + b"a" * (MB + 10) + b'"}',
                       headers={"content-type": "application/json", "x-request-id": "api-413"}, timeout=40)
        assert r.status_code == 413, (path, r.status_code, r.text[:200])
        assert r.headers["x-request-id"] == "api-413"


# -- errors -----------------------------------------------------------------------------------

def test_client_caused_upstream_4xx_passes_through_with_all_four_keys(server: BonitoServer,
                                                                      bare: BareUpstream) -> None:
    r = _post(server, body={"model": "bare-model", "messages": MESSAGES, "foo": 1})
    err = _openai_error(r, 400)
    assert err["message"] == "unsupported parameter: 'foo'"
    assert r.headers["x-request-id"]


def test_upstream_429_without_retry_after_still_answers_retry_after(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.fail_always(Fault(status=429, error_type="rate_limit_exceeded"))
    r = _post(server)
    err = _openai_error(r, 429)
    assert err["type"] == "rate_limit_exceeded"
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["x-ratelimit-limit-requests"] and "x-ratelimit-remaining-requests" in r.headers
    assert r.headers["x-bonito-attempts"] == str(len(fake.requests))  # every upstream call counted


def test_upstream_failure_after_retries_is_502_openai_shaped(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.fail_always(Fault(status=503))
    r = _post(server, headers={"x-request-id": "contract-502"})
    assert _openai_error(r, 502)["type"]
    assert r.headers["x-request-id"] == "contract-502"
    assert int(r.headers["x-bonito-attempts"]) == len(fake.requests) >= 2  # retried, every call counted
    assert "x-bonito-model-used" not in r.headers  # nothing served it


# -- pass-through ------------------------------------------------------------------------------

def test_upstream_answer_reaches_client_unchanged_apart_from_model(server: BonitoServer, fake: FakeOpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "tools": tools, "tool_choice": "required",
            "temperature": 0.2, "user": "u-1", "response_format": {"type": "text"}, "logit_bias": {"50256": -100}}
    r = _post(server, body=body)
    assert r.status_code == 200
    sent = fake.requests[-1].body
    assert {k: v for k, v in sent.items() if k != "model"} == {k: v for k, v in body.items() if k != "model"}
    got = r.json()
    assert got["model"] == "gpt-4o-mini"
    assert got["id"] == "chatcmpl-fake123" and got["system_fingerprint"] == "fp_fake"
    assert got["choices"][0]["message"]["tool_calls"][0]["function"] == {
        "name": "get_weather", "arguments": '{"country": "United Kingdom"}'}
    assert got["choices"][0]["message"]["refusal"] is None and got["choices"][0]["logprobs"] is None
    assert got["usage"]["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}
    assert got["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    # embeddings: encoding_format and dimensions reach the upstream
    r = _post(server, "/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a"], "dimensions": 5,
                                         "encoding_format": "float"})
    assert r.status_code == 200 and len(r.json()["data"][0]["embedding"]) == 5
    assert fake.requests[-1].body["encoding_format"] == "float" and fake.requests[-1].body["dimensions"] == 5


def test_stream_include_usage_last_chunk_before_done_is_openais(server: BonitoServer, fake: FakeOpenAI) -> None:
    with httpx.stream("POST", server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json={"model": "quarter", "messages": MESSAGES, "stream": True,
                            "stream_options": {"include_usage": True}}, timeout=30) as r:
        assert r.status_code == 200
        events = _sse(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens"] == 8 and last["usage"]["completion_tokens"] == len(fake.reply.split())
    assert last["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0  # as OpenAI sends it
    assert all(c["model"] == "quarter" for c in chunks)
    assert all(c["id"] == "chatcmpl-fakestream" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == fake.reply


def test_client_key_never_goes_upstream_whichever_header_it_came_in(server: BonitoServer, fake: FakeOpenAI) -> None:
    assert _post(server, key=None, headers={"x-api-key": KEY}).status_code == 200
    seen = fake.requests[-1].headers
    assert seen["Authorization"] == f"Bearer {fake.api_key}"
    assert KEY not in json.dumps(seen)


# -- usage records ----------------------------------------------------------------------------

def _pico(row: dict[str, Any]) -> Decimal:
    return Decimal(int(row["cost_usd"])) / Decimal(10) ** 12


def test_four_quarter_dollar_calls_record_exactly_one_dollar(server: BonitoServer, fake: FakeOpenAI) -> None:
    for i in range(4):
        extra = {"stream": True} if i % 2 else {}
        r = _post(server, body={"model": "quarter", "messages": MESSAGES, **extra},
                  headers={"x-request-id": f"ct-quarter-{i}"})
        assert r.status_code == 200
    rows = wait_rows(server.workdir, "request_id LIKE 'ct-quarter-%'", count=4)
    assert [_pico(r) for r in rows] == [Decimal("0.25")] * 4
    assert sum((_pico(r) for r in rows), Decimal(0)) == Decimal("1.00")


def test_rejected_bodies_of_a_known_key_are_recorded_once(server: BonitoServer) -> None:
    _openai_error(_post(server, content=b"{not json", headers={"x-request-id": "ct-rec-400"}), 400)
    big = b'{"model":"gpt-4o-mini","prompt":"' + b"z" * (MB + 10) + b'"}'
    _openai_error(_post(server, "/v1/completions", content=big, headers={"x-request-id": "ct-rec-413"}), 413)
    (bad,) = wait_rows(server.workdir, "request_id = ?", ("ct-rec-400",))
    assert bad["status"] == 400 and bad["key_name"] == "ci" and bad["org_id"] == "default"
    (large,) = wait_rows(server.workdir, "request_id = ?", ("ct-rec-413",))
    assert large["status"] == 413 and large["endpoint"] == "completions"


def test_route_request_is_recorded_once_with_its_route(server: BonitoServer, fake: FakeOpenAI) -> None:
    r = _post(server, key=ROUTE_KEY, body={"model": "whatever", "messages": MESSAGES},
              headers={"x-request-id": "ct-rec-route"})
    assert r.status_code == 200
    (row,) = wait_rows(server.workdir, "request_id = ?", ("ct-rec-route",))
    assert row["route"] == "chat-route" and row["model_used"] == "gpt-4o-mini" and row["status"] == 200


# -- memory stays flat ------------------------------------------------------------------------

def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_memory_stays_flat_with_distinct_request_ids_and_keys(server: BonitoServer, fake: FakeOpenAI) -> None:
    assert server.proc is not None
    pid = server.proc.pid
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode()

    def burst(n: int, tag: str) -> None:
        with httpx.Client(timeout=30) as c:
            for i in range(n):
                # a served request with a fresh id, and a refused one with a fresh unknown key
                c.post(server.url + "/v1/chat/completions", content=body,
                       headers={"Authorization": f"Bearer {KEY}", "x-request-id": f"mem-{tag}-{i}-" + "x" * 150})
                c.post(server.url + "/v1/chat/completions", content=body,
                       headers={"Authorization": f"Bearer bn-unknown-{tag}-{i}", "x-request-id": f"u-{tag}-{i}"})

    burst(600, "warm")
    before = _rss_kb(pid)
    burst(1200, "load")
    grown_mb = (_rss_kb(pid) - before) / 1024
    print(f"RSS grew {grown_mb:.2f} MB")
    assert grown_mb < 25, f"RSS grew {grown_mb:.1f} MB over 2400 requests"
