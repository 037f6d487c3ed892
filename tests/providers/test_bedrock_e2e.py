"""Bedrock through the real `bonito serve --config`, driven by the official openai SDK."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.fakes.bedrock import BedrockFake
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

KEY = "bn-bedrock-e2e-0001"
TOOLS: Any = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                           "parameters": {"type": "object",
                                                          "properties": {"city": {"type": "string"}}}}}]


def config(url: str) -> str:
    return f"""\
version: 1
providers:
  aws:
    type: bedrock
    region: us-east-1
    access_key_id: AKIDFAKE
    secret_access_key: fake-secret
    session_token: tok-123
    endpoint_url: {url}
models:
  nova:
    provider: aws
    model: us.amazon.nova-micro-v1:0
  titan:
    provider: aws
    model: amazon.titan-embed-text-v2:0
keys:
  - name: ci
    key: {KEY}
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[BedrockFake]:
    server = BedrockFake(session_token="tok-123")
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture(scope="module")
def server(fake: BedrockFake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    workdir: Path = tmp_path_factory.mktemp("bonito-bedrock")
    with BonitoServer(workdir, config(fake.url)) as srv:
        yield srv


@pytest.fixture
def client(server: BonitoServer) -> openai.OpenAI:
    return server.openai(KEY)


def test_chat_non_stream_and_usage_cost(client: openai.OpenAI, server: BonitoServer) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="nova", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=30, extra_headers={"x-request-id": "bedrock-e2e-1"})
    resp = raw.parse()
    assert resp.model == "nova"
    assert resp.choices[0].message.content == "Hello from fake Bedrock: Hi"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.prompt_tokens == 11 and resp.usage.completion_tokens == 7
    (row,) = wait_rows(server.workdir, "request_id = ?", ("bedrock-e2e-1",))
    assert row["provider"] == "aws" and row["prompt_tokens"] == 11 and row["completion_tokens"] == 7
    # Nova Micro's list price from the package data: $0.035 in / $0.14 out per million tokens.
    expected = (11 * Decimal("0.035") + 7 * Decimal("0.14")) / 10**6
    assert Decimal(int(row["cost_usd"])) / Decimal(10) ** 12 == expected


def test_chat_stream_with_include_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="nova", messages=[{"role": "user", "content": "Tell me"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from fake Bedrock: Tell me"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 18


def test_stream_without_include_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="nova", messages=[{"role": "user", "content": "x"}],
                                                 stream=True))
    assert all(c.choices for c in chunks)


def test_tools_round_trip(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="nova", tools=TOOLS,
                                           messages=[{"role": "user", "content": "call get_weather"}])
    calls: Any = first.choices[0].message.tool_calls
    call = calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Paris"}'
    history: Any = [{"role": "user", "content": "call get_weather"},
                    first.choices[0].message.model_dump(exclude_none=True),
                    {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    second = client.chat.completions.create(model="nova", tools=TOOLS, messages=history)
    assert second.choices[0].message.content == "Hello from fake Bedrock: tool results"


def test_stream_tool_calls(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="nova", tools=TOOLS, tool_choice="required",
                                                 messages=[{"role": "user", "content": "weather?"}], stream=True))
    deltas: list[Any] = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    args = "".join(tc.function.arguments or "" for tc in deltas)
    assert args == '{"city":"Paris"}'


def test_embeddings_float_and_base64(client: openai.OpenAI) -> None:
    out = client.embeddings.create(model="titan", input=["one two", "three"], dimensions=256)
    assert [len(d.embedding) for d in out.data] == [256, 256] and out.usage.prompt_tokens == 3
    raw = client.embeddings.with_raw_response.create(model="titan", input="one", encoding_format="base64")
    packed = raw.http_response.json()["data"][0]["embedding"]
    assert len(struct.unpack("<1024f", base64.b64decode(packed))) == 1024


def test_errors(client: openai.OpenAI, fake: BedrockFake) -> None:
    fake.fail_next(400, "ValidationException", "Malformed input request: bad thing")
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="nova", messages=[{"role": "user", "content": "x"}])
    assert "Malformed input request" in str(bad.value)
    with pytest.raises(openai.BadRequestError) as unsupported:
        client.chat.completions.create(model="nova", messages=[{"role": "user", "content": "x"}], seed=3)
    assert "seed" in str(unsupported.value)
    for _ in range(5):  # throttled on every retry the gateway makes
        fake.fail_next(429, "ThrottlingException", "Too many requests, please wait before trying again.")
    with pytest.raises(openai.APIStatusError) as throttled:
        client.chat.completions.create(model="nova", messages=[{"role": "user", "content": "x"}])
    fake.script.clear()
    assert throttled.value.status_code == 429 and "Too many requests" in str(throttled.value)


def test_a_malformed_field_is_a_400_naming_it_not_a_500(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="nova", messages=[{"role": "user", "content": "x"}],
                                       stop=3)  # type: ignore[arg-type]
    assert bad.value.status_code == 400 and bad.value.body["param"] == "stop"  # type: ignore[index]
