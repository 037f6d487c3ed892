"""`bonito serve --config` with a Vertex provider (the local fake), driven by the official openai SDK.

The fake checks the service-account token exchange and the bearer token on
every call, so these tests also prove the server authenticates as configured.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.fakes.vertex import FakeVertex, fake_in_thread, make_service_account
from tests.support.configs import KEY
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "vertex"
WEATHER: Any = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture(scope="module")
def vertex() -> Iterator[FakeVertex]:
    with fake_in_thread() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(vertex: FakeVertex, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    workdir = tmp_path_factory.mktemp("bonito-vertex")
    info, public = make_service_account(vertex.token_uri)
    vertex.add_service_account(info["client_email"], public)
    key_file = workdir / "sa.json"
    key_file.write_text(json.dumps(info))
    config = f"""\
version: 1
providers:
  gcp:
    type: vertex
    project: test-project
    location: us-central1
    service_account_file: {key_file}
    endpoint_url: {vertex.url}
models:
  gemini-flash:
    provider: gcp
    model: gemini-2.0-flash
  gemini-thinking:
    provider: gcp
    model: gemini-2.5-flash
  gemini-embed:
    provider: gcp
    model: gemini-embedding-001
  gemini-missing:
    provider: gcp
    model: gemini-does-not-exist
keys:
  - name: ci
    key: {KEY}
"""
    with BonitoServer(workdir, config) as srv:
        yield srv


def test_chat_tokens_and_cost(server: BonitoServer, vertex: FakeVertex) -> None:
    resp = server.openai(KEY).chat.completions.create(
        model="gemini-flash", messages=[{"role": "system", "content": "Be brief."},
                                        {"role": "user", "content": "What is 4200 + 42?"}],
        max_tokens=64, extra_headers={"x-request-id": "vertex-e2e-1"})
    assert resp.choices[0].message.content == "Echo: What is 4200 + 42?"
    assert resp.model == "gemini-flash" and resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    sent = vertex.calls("generateContent")[-1]
    assert sent.path.endswith("/projects/test-project/locations/us-central1/publishers/google/models/"
                              "gemini-2.0-flash:generateContent")
    assert sent.body["systemInstruction"] == {"role": "user", "parts": [{"text": "Be brief."}]}
    assert sent.headers["authorization"].startswith("Bearer ya29.fake-") and KEY not in json.dumps(sent.headers)
    (row,) = wait_rows(server.workdir, "request_id = ?", ("vertex-e2e-1",))
    assert (row["provider"], row["prompt_tokens"], row["completion_tokens"]) == (
        "gcp", resp.usage.prompt_tokens, resp.usage.completion_tokens)
    # gemini-2.0-flash lists at $0.15 / $0.60 per million tokens on Vertex
    expected = (resp.usage.prompt_tokens * Decimal("0.15") + resp.usage.completion_tokens * Decimal("0.60")) / 10**6
    assert Decimal(int(row["cost_usd"])) / Decimal(10) ** 12 == expected


def test_stream_with_usage(server: BonitoServer) -> None:
    chunks = list(server.openai(KEY).chat.completions.create(
        model="gemini-thinking", messages=[{"role": "user", "content": "count one two three four five"}],
        stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: count one two three four five"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 7 + 7  # answer + thinking tokens
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]


def test_tool_round_trip(server: BonitoServer) -> None:
    client = server.openai(KEY)
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    resp = client.chat.completions.create(model="gemini-thinking", messages=messages, tools=[WEATHER],
                                          tool_choice="required")
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_") and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "test"}
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'}]
    resp = client.chat.completions.create(model="gemini-thinking", messages=messages, tools=[WEATHER])
    assert resp.choices[0].message.content == 'Tool results: get_weather -> {"temp_c":21}'


def test_streamed_tool_call(server: BonitoServer) -> None:
    name, args = "", ""
    stream = server.openai(KEY).chat.completions.create(
        model="gemini-thinking", messages=[{"role": "user", "content": "use get_weather"}], tools=[WEATHER],
        stream=True)
    for chunk in stream:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                name += (tc.function.name or "") if tc.function else ""
                args += (tc.function.arguments or "") if tc.function else ""
    assert name == "get_weather" and json.loads(args) == {"city": "test"}


def test_embeddings(server: BonitoServer, vertex: FakeVertex) -> None:
    client = server.openai(KEY)
    resp = client.embeddings.create(model="gemini-embed", input=["alpha", "beta"], dimensions=8,
                                    encoding_format="float")
    assert [len(d.embedding) for d in resp.data] == [8, 8]
    assert resp.usage.prompt_tokens == 2
    # The SDK asks for base64 by default and decodes it: same vectors either way.
    again = client.embeddings.create(model="gemini-embed", input=["alpha", "beta"], dimensions=8)
    assert again.data[0].embedding == pytest.approx(resp.data[0].embedding, rel=1e-6)
    raw = client.embeddings.with_raw_response.create(model="gemini-embed", input="alpha", dimensions=8,
                                                     encoding_format="base64")
    b64 = json.loads(raw.text)["data"][0]["embedding"]
    assert list(struct.unpack("<8f", base64.b64decode(b64))) == pytest.approx(resp.data[0].embedding, rel=1e-6)


def test_errors_reach_the_client(server: BonitoServer, vertex: FakeVertex) -> None:
    client = server.openai(KEY)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gemini-missing", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gemini-flash", messages=[{"role": "user", "content": "x"}],
                                       logit_bias={"1": 1})
    assert "'logit_bias' is not supported by vertex" in str(info.value)
    # More 429s than the gateway retries: the client sees the rate limit.
    vertex.fail_next(429, "RESOURCE_EXHAUSTED", "Quota exceeded", count=10)
    try:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gemini-flash", messages=[{"role": "user", "content": "x"}])
    finally:
        vertex.queue.clear()
    # And a single injected fault is absorbed by the gateway's retry.
    vertex.fail_next(503, "UNAVAILABLE", "try again")
    resp = client.chat.completions.create(model="gemini-flash", messages=[{"role": "user", "content": "again"}])
    assert resp.choices[0].message.content == "Echo: again"
