"""AzureProvider end to end against the local fake resource: api-key, Entra ID, streams, errors, catalog."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bonito.config.schema import AzureProviderConfig
from bonito.providers.azure import AzureProvider
from bonito.providers.azure.auth import EntraToken
from bonito.providers.base import Call, Provider, UpstreamError
from bonito.providers.registry import build_provider
from tests.fakes.anthropic import load_fixture
from tests.fakes.azure import DEFAULT_USAGE, FakeAzure

KEY = "azure-test-key"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAzure]:
    server = FakeAzure(api_key=KEY, with_token_endpoint=True)
    await server.start()
    yield server
    await server.stop()


def config(fake: FakeAzure, **over: Any) -> AzureProviderConfig:
    base: dict[str, Any] = {"type": "azure", "endpoint": fake.endpoint, "api_key": KEY}
    return AzureProviderConfig(**{**base, **over})


def entra_config(fake: FakeAzure, secret: str | None = None) -> AzureProviderConfig:
    return config(fake, api_key=None, tenant_id=fake.tenant_id, client_id=fake.client_id,
                  client_secret=secret or fake.client_secret, authority_host=fake.token_authority)


@pytest.fixture
async def provider(fake: FakeAzure) -> AsyncIterator[AzureProvider]:
    p = AzureProvider("az", config(fake))
    yield p
    await p.aclose()


def chat(deployment: str, **extra: Any) -> Call:
    body = {"model": deployment, "messages": [{"role": "user", "content": "What is 4200 + 42?"}], **extra}
    return Call("chat", body, deployment, stream=bool(extra.get("stream")))


async def test_registry_builds_it(fake: FakeAzure) -> None:
    p = build_provider("az", config(fake))
    assert isinstance(p, AzureProvider) and isinstance(p, Provider)
    await p.aclose()


async def test_invoke_uses_deployment_url_api_version_and_key(provider: AzureProvider, fake: FakeAzure) -> None:
    out = await provider.invoke(chat("gpt-4o-mini"))
    assert out["choices"][0]["message"]["content"] == "4200 + 42 equals 4242."
    assert out["usage"]["total_tokens"] > 0 and "prompt_filter_results" in out
    sent = fake.requests[-1]
    assert sent["path"] == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert sent["query"] == {"api-version": "2024-10-21"} and sent["headers"]["api-key"] == KEY
    assert "authorization" not in {k.lower() for k in sent["headers"]}


async def test_raw_bytes_pass_through_unchanged(provider: AzureProvider, fake: FakeAzure) -> None:
    raw = b'{"model":"chat_text","messages":[{"role":"user","content":"hi"}],"seed":7}'
    await provider.invoke(Call("chat", json.loads(raw), "chat_text", raw=raw))
    assert fake.requests[-1]["body"] == json.loads(raw)


async def test_v1_api_puts_deployment_in_body(fake: FakeAzure) -> None:
    p = AzureProvider("az", config(fake, use_v1_api=True))
    out = await p.invoke(Call("chat", {"model": "public-name", "messages": []}, "chat_v1_api_text_gpt5"))
    assert out["model"] == "gpt-5-mini-2025-08-07"
    sent = fake.requests[-1]
    assert sent["path"] == "/openai/v1/chat/completions" and sent["query"] == {}
    assert sent["body"]["model"] == "chat_v1_api_text_gpt5"
    await p.aclose()


async def test_stream_drops_prompt_filter_chunk_and_ends_with_usage(provider: AzureProvider) -> None:
    chunks = [c async for c in provider.stream(chat("chat_stream_text", stream=True))]
    assert all(c["choices"] for c in chunks[:-1])
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1]) == "4200 + 42 equals 4242."
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == DEFAULT_USAGE


async def test_old_api_version_streams_without_stream_options(fake: FakeAzure) -> None:
    p = AzureProvider("az", config(fake, api_version="2024-06-01"))
    call = chat("chat_stream_text", stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in p.stream(call)]
    assert "stream_options" not in fake.requests[-1]["body"]
    assert chunks and all(c["choices"] and "usage" not in c for c in chunks)  # the gateway estimates
    await p.aclose()


async def test_stream_parallel_tool_calls(provider: AzureProvider) -> None:
    chunks = [c async for c in provider.stream(chat("chat_stream_tool_calls", stream=True))]
    args: dict[int, str] = {}
    for c in chunks:
        for choice in c["choices"]:
            for tc in choice["delta"].get("tool_calls") or []:
                args[tc["index"]] = args.get(tc["index"], "") + tc["function"].get("arguments", "")
    assert {i: json.loads(a) for i, a in args.items()} == {0: {"password": "mellon"}, 1: {"password": "radiance"}}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_content_filter_400_even_when_streaming(provider: AzureProvider) -> None:
    with pytest.raises(UpstreamError) as info:
        [c async for c in provider.stream(chat("chat_content_filter_400", stream=True))]
    assert (info.value.status, info.value.code, info.value.kind) == (400, "content_filter", "http")
    assert info.value.body is not None and "innererror" in info.value.body["error"]


async def test_finish_reason_content_filter_reaches_the_caller(provider: AzureProvider, fake: FakeAzure) -> None:
    body = load_fixture("azure", "chat_text")["response"]["body"]
    choice = {**body["choices"][0], "finish_reason": "content_filter",
              "content_filter_results": {"violence": {"filtered": True, "severity": "medium"}}}
    fake.overrides["filtered-output"] = (200, {**body, "choices": [choice]})
    out = await provider.invoke(chat("filtered-output"))
    assert out["choices"][0]["finish_reason"] == "content_filter"
    assert out["choices"][0]["content_filter_results"]["violence"]["filtered"] is True


async def test_errors(provider: AzureProvider, fake: FakeAzure) -> None:
    with pytest.raises(UpstreamError) as info:
        await provider.invoke(chat("missing-deployment"))
    assert (info.value.status, info.value.code) == (404, "DeploymentNotFound")

    fake.faults.append("rate_limit")
    with pytest.raises(UpstreamError) as info:
        await provider.invoke(chat("gpt-4o-mini"))
    assert info.value.status == 429 and info.value.retry_after_s == 5.5 and info.value.transient

    fake.faults.append("server_error")
    with pytest.raises(UpstreamError) as info:
        await provider.invoke(chat("gpt-4o-mini"))
    assert info.value.status == 500 and info.value.transient

    fake.faults.append("stream_error")
    with pytest.raises(UpstreamError) as info:
        [c async for c in provider.stream(chat("chat_stream_text", stream=True))]
    assert info.value.kind == "stream" and "interrupted" in info.value.message


async def test_wrong_key(fake: FakeAzure) -> None:
    p = AzureProvider("az", config(fake, api_key="nope"))
    with pytest.raises(UpstreamError) as info:
        await p.invoke(chat("gpt-4o-mini"))
    assert info.value.status == 401 and "Access denied" in info.value.message
    result = await p.validate()
    assert not result.ok and "401" in result.message
    await p.aclose()


async def test_embeddings_and_completions(provider: AzureProvider, fake: FakeAzure) -> None:
    emb = await provider.embed(Call("embeddings", {"model": "emb", "input": "hello"}, "text-embedding-3-small"))
    assert emb["object"] == "list" and emb["data"][0]["object"] == "embedding"
    assert fake.requests[-1]["path"] == "/openai/deployments/text-embedding-3-small/embeddings"

    text = await provider.invoke(Call("completions", {"model": "x", "prompt": "4200+42="}, "instruct"))
    assert text["object"] == "text_completion" and text["choices"][0]["text"] == " 4242"
    chunks = [c async for c in provider.stream(Call("completions", {"model": "x", "prompt": "4200+42="},
                                                    "instruct", stream=True))]
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == " 4242"
    assert chunks[-1]["usage"] == DEFAULT_USAGE


async def test_catalog_validate_health(provider: AzureProvider) -> None:
    models = await provider.list_models()
    assert [(m.id, m.kind) for m in models] == [("gpt-4o-mini", "chat"), ("gpt-4o", "chat"),
                                                ("text-embedding-3-small", "embeddings")]
    result = await provider.validate()
    assert result.ok and "3 deployments" in result.message
    assert await provider.health()


# --- Entra ID ----------------------------------------------------------------------------------------


async def test_entra_token_is_fetched_once_and_sent_as_bearer(fake: FakeAzure) -> None:
    cfg = entra_config(fake)
    p = AzureProvider("az", cfg, entra=EntraToken(cfg, connection_verify=fake.ca_file))
    await asyncio.gather(*(p.invoke(chat("gpt-4o-mini")) for _ in range(5)))
    assert len(fake.token_requests) == 1
    form = fake.token_requests[0]
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "https://cognitiveservices.azure.com/.default"
    assert form["client_id"] == fake.client_id
    sent = fake.requests[-1]["headers"]
    assert sent["Authorization"] == "Bearer entra-token-1" and "api-key" not in sent
    assert (await p.validate()).ok
    await p.aclose()


async def test_entra_token_is_refreshed_when_it_expires(fake: FakeAzure) -> None:
    fake.token_lifetime_s = 3
    cfg = entra_config(fake)
    p = AzureProvider("az", cfg, entra=EntraToken(cfg, connection_verify=fake.ca_file))
    await p.invoke(chat("gpt-4o-mini"))
    await p.invoke(chat("gpt-4o-mini"))
    assert len(fake.token_requests) == 1
    await asyncio.sleep(3.2)
    await p.invoke(chat("gpt-4o-mini"))
    assert len(fake.token_requests) == 2
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer entra-token-2"
    await p.aclose()


async def test_entra_wrong_secret(fake: FakeAzure) -> None:
    cfg = entra_config(fake, secret="wrong")
    p = AzureProvider("az", cfg, entra=EntraToken(cfg, connection_verify=fake.ca_file))
    with pytest.raises(UpstreamError) as info:
        await p.invoke(chat("gpt-4o-mini"))
    assert info.value.code == "entra_token_failed" and "AADSTS7000215" in info.value.message
    assert "wrong" not in info.value.message  # the secret never shows
    result = await p.validate()
    assert not result.ok and "AADSTS7000215" in result.message
    await p.aclose()


async def test_entra_from_config_uses_authority_host(fake: FakeAzure) -> None:
    # Built from config alone, the credential talks to authority_host; our fake's self-signed
    # certificate is not trusted by default, which proves the request went there.
    p = AzureProvider("az", entra_config(fake))
    with pytest.raises(UpstreamError) as info:
        await p.invoke(chat("gpt-4o-mini"))
    assert info.value.code == "entra_token_failed"
    await p.aclose()
