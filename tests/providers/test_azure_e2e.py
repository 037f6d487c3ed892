"""`bonito serve --config` with Azure OpenAI providers (the local fake), driven by the official openai SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import openai
import pytest
from openai.types.chat import ChatCompletionToolParam

from tests.fakes.anthropic import load_fixture
from tests.fakes.azure import DEFAULT_USAGE, FakeAzure
from tests.support.configs import KEY
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

UPSTREAM_KEY = "azure-e2e-key"


@pytest.fixture(scope="module")
def azure() -> Iterator[FakeAzure]:
    with FakeAzure(api_key=UPSTREAM_KEY, with_token_endpoint=True).running() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(azure: FakeAzure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    config = f"""\
version: 1
providers:
  az:
    type: azure
    endpoint: {azure.endpoint}
    api_key: {UPSTREAM_KEY}
    api_version: 2024-10-21
  az-entra:
    type: azure
    endpoint: {azure.endpoint}
    tenant_id: {azure.tenant_id}
    client_id: {azure.client_id}
    client_secret: {azure.client_secret}
    authority_host: {azure.token_authority}
  az-v1:
    type: azure
    endpoint: {azure.endpoint}/openai
    api_key: {UPSTREAM_KEY}
    use_v1_api: true
models:
  gpt-4o-mini:
    provider: az
    model: gpt-4o-mini
  azure-tools:
    provider: az
    model: chat_stream_tool_calls
  azure-filtered:
    provider: az
    model: chat_content_filter_400
  azure-entra:
    provider: az-entra
    model: gpt-4o
  azure-v1:
    provider: az-v1
    model: chat_v1_api_text_gpt5
  azure-embed:
    provider: az
    model: text-embedding-3-small
keys:
  - name: ci
    key: {KEY}
"""
    # The Entra fake serves TLS with a self-signed certificate; the server process trusts it.
    env = {"SSL_CERT_FILE": azure.ca_file}
    with BonitoServer(tmp_path_factory.mktemp("bonito-azure"), config, env=env) as srv:
        yield srv


def test_chat_with_api_key_and_cost(server: BonitoServer, azure: FakeAzure) -> None:
    raw = server.openai(KEY).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is 4200 + 42?"}],
        extra_headers={"x-request-id": "azure-e2e-1"})
    resp = raw.parse()
    recorded = load_fixture("azure", "chat_text")["response"]["body"]
    assert resp.choices[0].message.content == recorded["choices"][0]["message"]["content"]
    assert resp.model == "gpt-4o-mini"
    sent = azure.requests[-1]
    assert sent["path"] == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert sent["query"] == {"api-version": "2024-10-21"} and sent["headers"]["api-key"] == UPSTREAM_KEY
    (row,) = wait_rows(server.workdir, "request_id = ?", ("azure-e2e-1",))
    usage = recorded["usage"]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (usage["prompt_tokens"], usage["completion_tokens"])
    expected = (usage["prompt_tokens"] * Decimal("0.15") + usage["completion_tokens"] * Decimal("0.6")) / 10**6
    assert Decimal(int(row["cost_usd"])) / Decimal(10) ** 12 == expected


def test_stream_with_usage(server: BonitoServer) -> None:
    chunks = list(server.openai(KEY).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is 4200 + 42?"}], stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "4200 + 42 equals 4242."
    assert [c for c in chunks if not c.choices] == [chunks[-1]]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == DEFAULT_USAGE["total_tokens"]


def test_streamed_parallel_tool_calls(server: BonitoServer) -> None:
    tools: list[ChatCompletionToolParam] = [
        {"type": "function", "function": {"name": "secret_retrieval_tool", "parameters": {"type": "object"}}}]
    args: dict[int, str] = {}
    finish = None
    for chunk in server.openai(KEY).chat.completions.create(
            model="azure-tools", messages=[{"role": "user", "content": "mellon,radiance"}], tools=tools,
            stream=True):
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                args[tc.index] = args.get(tc.index, "") + ((tc.function.arguments or "") if tc.function else "")
            finish = choice.finish_reason or finish
    assert {i: json.loads(a) for i, a in args.items()} == {0: {"password": "mellon"}, 1: {"password": "radiance"}}
    assert finish == "tool_calls"


def test_content_filter_400_is_recognisable(server: BonitoServer) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        server.openai(KEY).chat.completions.create(model="azure-filtered", messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "content_filter"
    assert "content management policy" in info.value.message


def test_entra_id_bearer_token(server: BonitoServer, azure: FakeAzure) -> None:
    client = server.openai(KEY)
    for _ in range(3):
        resp = client.chat.completions.create(model="azure-entra", messages=[{"role": "user", "content": "hi"}])
        assert resp.choices[0].message.content
    assert len(azure.token_requests) == 1
    assert azure.requests[-1]["headers"]["Authorization"].startswith("Bearer entra-token-")
    assert "api-key" not in azure.requests[-1]["headers"]


def test_v1_api(server: BonitoServer, azure: FakeAzure) -> None:
    resp = server.openai(KEY).chat.completions.create(model="azure-v1", messages=[{"role": "user", "content": "x"}])
    assert resp.choices[0].message.content == "4242"
    assert azure.requests[-1]["path"] == "/openai/v1/chat/completions" and azure.requests[-1]["query"] == {}


def test_embeddings(server: BonitoServer, azure: FakeAzure) -> None:
    resp = server.openai(KEY).embeddings.create(model="azure-embed", input="hello")
    assert resp.data and len(resp.data[0].embedding) > 0
    assert azure.requests[-1]["path"] == "/openai/deployments/text-embedding-3-small/embeddings"
