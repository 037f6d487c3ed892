"""`bonito serve --config` with an Anthropic provider (the local fake), driven by the official openai SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionToolParam

from tests.fakes.anthropic import FakeAnthropic
from tests.support.configs import KEY
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

UPSTREAM_KEY = "sk-ant-e2e"


@pytest.fixture(scope="module")
def claude() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=UPSTREAM_KEY).running() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(claude: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    config = f"""\
version: 1
providers:
  claude:
    type: anthropic
    api_key: {UPSTREAM_KEY}
    base_url: {claude.base_url}
models:
  claude-sonnet:
    provider: claude
    model: claude-sonnet-4-0
  claude-tools:
    provider: claude
    model: messages_tool_use_parallel
  claude-stream-tools:
    provider: claude
    model: messages_stream_tool_use_sdk_fixture
  claude-missing:
    provider: claude
    model: claude-does-not-exist-9
keys:
  - name: ci
    key: {KEY}
"""
    with BonitoServer(tmp_path_factory.mktemp("bonito-anthropic"), config) as srv:
        yield srv


def test_chat_and_cost_from_the_price_list(server: BonitoServer, claude: FakeAnthropic) -> None:
    raw = server.openai(KEY).chat.completions.with_raw_response.create(
        model="claude-sonnet", messages=[{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": "What is 4200 + 42?"}],
        max_tokens=64, extra_headers={"x-request-id": "anthropic-e2e-1"})
    resp = raw.parse()
    assert resp.choices[0].message.content == "4200 + 42 = 4242"
    assert resp.model == "claude-sonnet" and resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (17, 15)
    sent = claude.requests[-1]
    assert sent["body"]["system"] == "Be brief." and sent["body"]["max_tokens"] == 64
    assert sent["headers"]["x-api-key"] == UPSTREAM_KEY and KEY not in json.dumps(sent["headers"])
    (row,) = wait_rows(server.workdir, "request_id = ?", ("anthropic-e2e-1",))
    assert (row["provider"], row["prompt_tokens"], row["completion_tokens"]) == ("claude", 17, 15)
    # claude-sonnet-4 lists at $3 / $15 per million tokens
    assert Decimal(int(row["cost_usd"])) / Decimal(10) ** 12 == (17 * Decimal(3) + 15 * Decimal(15)) / 10**6


def test_stream_with_usage(server: BonitoServer) -> None:
    chunks = list(server.openai(KEY).chat.completions.create(
        model="claude-sonnet", messages=[{"role": "user", "content": "What is 4200 + 42?"}], stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "4200 + 42 = 4242"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 32


def test_stream_without_usage_hides_the_usage_chunk(server: BonitoServer) -> None:
    chunks = list(server.openai(KEY).chat.completions.create(
        model="claude-sonnet", messages=[{"role": "user", "content": "What is 4200 + 42?"}], stream=True))
    assert chunks and all(c.choices for c in chunks)


def test_tools(server: BonitoServer) -> None:
    tools: list[ChatCompletionToolParam] = [{"type": "function", "function": {"name": "secret_retrieval_tool",
                                               "parameters": {"type": "object"}}}]
    resp = server.openai(KEY).chat.completions.create(
        model="claude-tools", messages=[{"role": "user", "content": "secrets for mellon,radiance"}],
        tools=tools, tool_choice="auto")
    calls = resp.choices[0].message.tool_calls or []
    assert resp.choices[0].finish_reason == "tool_calls"
    assert [json.loads(c.function.arguments) for c in calls] == [{"password": "mellon"},  # type: ignore[union-attr]
                                                                 {"password": "radiance"}]


def test_streamed_tool_call(server: BonitoServer) -> None:
    tools: list[ChatCompletionToolParam] = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    args, name = "", ""
    for chunk in server.openai(KEY).chat.completions.create(
            model="claude-stream-tools", messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=tools, stream=True):
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                name += (tc.function.name or "") if tc.function else ""
                args += (tc.function.arguments or "") if tc.function else ""
    assert name == "get_weather" and json.loads(args) == {"location": "Paris"}


def test_errors_reach_the_client(server: BonitoServer) -> None:
    client = server.openai(KEY)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="claude-missing", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="claude-sonnet", messages=[{"role": "user", "content": "x"}], n=2)
    assert "'n' is not supported by anthropic" in str(info.value)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="claude-sonnet", input="x")


def test_an_answer_of_an_unknown_shape_is_a_502_not_a_500(server: BonitoServer, claude: FakeAnthropic) -> None:
    client = server.openai(KEY)
    claude.faults[:] = ["garbled", "garbled"]  # the first call and its one retry
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="claude-sonnet", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502 and "does not understand" in str(info.value)
    assert claude.faults == []  # retried once, as for any upstream failure

    claude.faults[:] = ["garbled_stream"]  # the stream breaks after it began: an error event, then [DONE]
    r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, timeout=30,
                   json={"model": "claude-sonnet", "stream": True, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert json.loads(events[-2])["error"]["code"] == "upstream_stream_failed"
    assert "does not understand" in json.loads(events[-2])["error"]["message"]
