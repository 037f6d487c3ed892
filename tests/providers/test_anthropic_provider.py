"""AnthropicProvider end to end against the local fake Messages API (real HTTP, real SSE)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bonito.config.schema import AnthropicProviderConfig
from bonito.providers.anthropic import AnthropicProvider
from bonito.providers.base import Call, Provider, UpstreamError
from bonito.providers.registry import build_provider
from tests.fakes.anthropic import FakeAnthropic

KEY = "sk-ant-test"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    server = FakeAnthropic(api_key=KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def provider(fake: FakeAnthropic) -> AsyncIterator[AnthropicProvider]:
    p = AnthropicProvider("claude", AnthropicProviderConfig(type="anthropic", api_key=KEY, base_url=fake.base_url))
    yield p
    await p.aclose()


def chat(model: str, **extra: Any) -> Call:
    body = {"model": model, "messages": [{"role": "user", "content": "What is 4200 + 42?"}], **extra}
    return Call("chat", body, model, stream=bool(extra.get("stream")))


async def collect(p: AnthropicProvider, call: Call) -> list[dict[str, Any]]:
    return [c async for c in p.stream(call)]


async def test_registry_builds_it(fake: FakeAnthropic) -> None:
    p = build_provider("claude", AnthropicProviderConfig(type="anthropic", api_key=KEY, base_url=fake.base_url))
    assert isinstance(p, AnthropicProvider) and isinstance(p, Provider)
    await p.aclose()


async def test_invoke_sends_key_version_and_translated_body(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    out = await provider.invoke(chat("messages_text", max_tokens=100))
    assert out["choices"][0]["message"]["content"] == "4200 + 42 = 4242"
    assert out["usage"] == {"prompt_tokens": 17, "completion_tokens": 15, "total_tokens": 32}
    sent = fake.requests[-1]
    assert sent["headers"]["x-api-key"] == KEY and sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["body"] == {"model": "messages_text", "max_tokens": 100,
                            "messages": [{"role": "user", "content": "What is 4200 + 42?"}]}


async def test_base_url_with_v1_suffix_works(fake: FakeAnthropic) -> None:
    p = AnthropicProvider("c", AnthropicProviderConfig(type="anthropic", api_key=KEY, base_url=fake.base_url + "/v1/"))
    assert (await p.invoke(chat("messages_text")))["object"] == "chat.completion"
    await p.aclose()


async def test_stream_text_ends_with_usage(provider: AnthropicProvider) -> None:
    chunks = await collect(provider, chat("messages_stream_text", stream=True))
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "4200 + 42 = 4242"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 32


async def test_tool_round_trip(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    tool = {"type": "function", "function": {"name": "secret_retrieval_tool", "parameters": {"type": "object"}}}
    first = await provider.invoke(chat("messages_tool_use_parallel", tools=[tool]))
    msg = first["choices"][0]["message"]
    assert first["choices"][0]["finish_reason"] == "tool_calls"
    assert [json.loads(c["function"]["arguments"]) for c in msg["tool_calls"]] == \
        [{"password": "mellon"}, {"password": "radiance"}]
    # the client answers both calls; the fake checks each tool_result matches a tool_use
    follow_up = chat("messages_tool_result_turn", tools=[tool])
    follow_up.body["messages"] += [
        {"role": "assistant", "content": msg["content"], "tool_calls": msg["tool_calls"]},
        *({"role": "tool", "tool_call_id": c["id"], "content": f"secret {i}"} for i, c in enumerate(msg["tool_calls"])),
    ]
    second = await provider.invoke(follow_up)
    assert "Welcome to Moria!" in second["choices"][0]["message"]["content"]
    sent = fake.requests[-1]["body"]["messages"]
    assert [b["type"] for b in sent[-1]["content"]] == ["tool_result", "tool_result"]


async def test_stream_tool_use(provider: AnthropicProvider) -> None:
    chunks = await collect(provider, chat("messages_stream_tool_use_sdk_fixture", stream=True))
    args = "".join(tc["function"].get("arguments", "")
                   for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", []))
    assert json.loads(args) == {"location": "Paris"}
    assert chunks[-1]["usage"]["completion_tokens"] == 65


async def test_errors_map_to_statuses(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    with pytest.raises(UpstreamError) as info:
        await provider.invoke(chat("claude-does-not-exist-1"))
    assert (info.value.status, info.value.code) == (404, "not_found_error") and info.value.client_caused

    fake.faults.append("rate_limit")
    with pytest.raises(UpstreamError) as info:
        await provider.invoke(chat("messages_text"))
    assert info.value.status == 429 and info.value.retry_after_s == 7.0 and info.value.transient

    fake.faults.append("overloaded")
    with pytest.raises(UpstreamError) as info:
        await provider.invoke(chat("messages_text"))
    assert (info.value.status, info.value.code) == (529, "overloaded_error") and info.value.transient


async def test_overloaded_before_stream_starts_is_http(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    fake.faults.append("overloaded")
    with pytest.raises(UpstreamError) as info:
        await collect(provider, chat("messages_stream_text", stream=True))
    assert (info.value.kind, info.value.status) == ("http", 529)


async def test_mid_stream_error_event(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    fake.faults.append("stream_error")
    got: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError) as info:
        async for chunk in provider.stream(chat("messages_stream_text", stream=True)):
            got.append(chunk)
    assert got, "chunks before the error reach the caller"
    assert (info.value.kind, info.value.status, info.value.message) == ("stream", 529, "Overloaded")


async def test_wrong_key_is_401(fake: FakeAnthropic) -> None:
    p = AnthropicProvider("c", AnthropicProviderConfig(type="anthropic", api_key="wrong", base_url=fake.base_url))
    with pytest.raises(UpstreamError) as info:
        await p.invoke(chat("messages_text"))
    assert (info.value.status, info.value.message) == (401, "invalid x-api-key")
    result = await p.validate()
    assert not result.ok and "rejected" in result.message
    await p.aclose()


async def test_embeddings_are_unsupported(provider: AnthropicProvider) -> None:
    with pytest.raises(UpstreamError) as info:
        await provider.embed(Call("embeddings", {"model": "m", "input": "x"}, "m"))
    assert info.value.status == 400 and info.value.code == "unsupported_parameter"


async def test_legacy_completions(provider: AnthropicProvider) -> None:
    out = await provider.invoke(Call("completions", {"model": "messages_text", "prompt": "4200+42?"}, "messages_text"))
    assert out["object"] == "text_completion" and out["choices"][0]["text"] == "4200 + 42 = 4242"
    chunks = [c async for c in provider.stream(
        Call("completions", {"model": "m", "prompt": "4200+42?", "stream": True}, "messages_stream_text", stream=True))]
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "4200 + 42 = 4242"
    assert chunks[-1]["object"] == "text_completion" and chunks[-1]["usage"]["prompt_tokens"] == 17


async def test_list_models_pages_validate_and_health(provider: AnthropicProvider, fake: FakeAnthropic) -> None:
    fake.models = [{"type": "model", "id": f"claude-{i}", "display_name": f"C{i}", "created_at": "x"}
                   for i in range(1203)]
    models = await provider.list_models()
    assert [m.id for m in models] == [f"claude-{i}" for i in range(1203)]
    assert (await provider.validate()).ok
    assert await provider.health()


async def test_health_false_when_nothing_listens() -> None:
    from tests.fakes.anthropic import free_port

    p = AnthropicProvider("c", AnthropicProviderConfig(type="anthropic", api_key=KEY,
                                                      base_url=f"http://127.0.0.1:{free_port()}"))
    assert not await p.health()
    with pytest.raises(UpstreamError) as info:
        await p.invoke(chat("messages_text"))
    assert info.value.kind == "connect"
    await p.aclose()
