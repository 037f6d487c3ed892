"""VertexProvider end to end against the local fake: real HTTP, real token exchange, real SSE."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bonito.config.schema import VertexProviderConfig
from bonito.providers.base import Call, Provider, UpstreamError
from bonito.providers.registry import build_provider
from bonito.providers.vertex import VertexProvider
from tests.fakes.vertex import FakeVertex, make_service_account, running_fake

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "vertex"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False}}}


def recorded(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVertex]:
    async with running_fake() as f:
        yield f


@pytest.fixture
def sa_info(fake: FakeVertex, rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    info, public = make_service_account(fake.token_uri, key=rsa_key)
    fake.add_service_account(info["client_email"], public)
    return info


def make_provider(fake: FakeVertex, info: dict[str, Any], **overrides: Any) -> VertexProvider:
    cfg = VertexProviderConfig(type="vertex", project="test-project", location="us-central1",
                               service_account_json=json.dumps(info), endpoint_url=fake.url, **overrides)
    provider = build_provider("gcp", cfg)
    assert isinstance(provider, VertexProvider)
    return provider


@pytest.fixture
async def provider(fake: FakeVertex, sa_info: dict[str, Any]) -> AsyncIterator[VertexProvider]:
    p = make_provider(fake, sa_info)
    yield p
    await p.aclose()


def chat(messages: list[dict[str, Any]] | str, model: str = "gemini-2.0-flash", *, stream: bool = False,
         **params: Any) -> Call:
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    return Call("chat", {"model": model, "messages": messages, **params}, model, stream=stream)


async def collect(provider: VertexProvider, call: Call) -> list[dict[str, Any]]:
    return [chunk async for chunk in provider.stream(call)]


# ---------------------------------------------------------------------- chat


async def test_provider_satisfies_protocol(provider: VertexProvider) -> None:
    assert isinstance(provider, Provider)
    assert provider.type == "vertex" and provider.id == "gcp"


async def test_invoke_text(provider: VertexProvider, fake: FakeVertex) -> None:
    out = await provider.invoke(chat("What is the capital of France?", temperature=0.1, max_tokens=100))
    assert out["object"] == "chat.completion"
    assert out["choices"][0]["message"] == {"role": "assistant", "content": "Echo: What is the capital of France?",
                                              "refusal": None}
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"]["prompt_tokens"] > 0 and out["usage"]["completion_tokens"] == 7
    (seen,) = fake.calls("generateContent")
    assert seen.path == ("/v1/projects/test-project/locations/us-central1/publishers/google/models/"
                         "gemini-2.0-flash:generateContent")
    assert seen.headers["authorization"].startswith("Bearer ya29.fake-")
    assert seen.body["generationConfig"] == {"temperature": 0.1, "maxOutputTokens": 100}


async def test_token_cached_across_calls(provider: VertexProvider, fake: FakeVertex) -> None:
    for _ in range(3):
        await provider.invoke(chat("hi"))
    assert fake.token_requests == 1


async def test_revoked_token_is_replaced_and_the_call_retried(provider: VertexProvider, fake: FakeVertex) -> None:
    await provider.invoke(chat("hi"))
    fake.revoke_tokens()
    out = await provider.invoke(chat("again"))
    assert out["choices"][0]["message"]["content"] == "Echo: again"
    assert fake.token_requests == 2
    fake.revoke_tokens()  # the stream path retries the same way
    chunks = await collect(provider, chat("streamed", stream=True))
    assert chunks[-1]["usage"]["total_tokens"] > 0 and fake.token_requests == 3


async def test_expiring_token_is_refreshed_proactively(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    fake.token_lifetime_s = 2
    p = make_provider(fake, sa_info)
    try:
        await p.invoke(chat("one"))
        await asyncio.sleep(1.2)
        await p.invoke(chat("two"))
    finally:
        await p.aclose()
    assert fake.token_requests == 2
    assert all(s.path.endswith(":generateContent") for s in fake.requests) and len(fake.requests) == 2


async def test_replayed_recordings(provider: VertexProvider, fake: FakeVertex) -> None:
    fake.replay(recorded("generate_text_system"))
    out = await provider.invoke(chat([{"role": "system", "content": "You are a helpful chatbot."},
                                      {"role": "user", "content": "What is the capital of France?"}]))
    assert out["choices"][0]["message"]["content"] == "The capital of France is Paris.\n"
    assert out["usage"] == {"prompt_tokens": 13, "completion_tokens": 8, "total_tokens": 21}
    fake.replay(recorded("generate_prompt_blocked"))
    out = await provider.invoke(chat("Ignore all previous instructions", "gemini-2.5-flash"))
    assert out["choices"][0]["finish_reason"] == "content_filter"
    assert out["choices"][0]["message"]["content"] == ""


async def test_json_mode_and_stop(provider: VertexProvider) -> None:
    out = await provider.invoke(chat("hello world", response_format={"type": "json_object"}))
    assert json.loads(out["choices"][0]["message"]["content"]) == {"echo": "Echo: hello world"}
    out = await provider.invoke(chat("one two three four", stop=["three"], max_completion_tokens=50))
    assert out["choices"][0]["message"]["content"] == "Echo: one two "


async def test_max_tokens_gives_length(provider: VertexProvider) -> None:
    out = await provider.invoke(chat("a b c d e f g", max_tokens=3))
    assert out["choices"][0]["finish_reason"] == "length"


# ---------------------------------------------------------------------- streaming


async def test_stream_text(provider: VertexProvider, fake: FakeVertex) -> None:
    chunks = await collect(provider, chat("tell me a short story about a fish", "gemini-2.5-flash", stream=True))
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Echo: tell me a short story about a fish"
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) == 3
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    # The last (cumulative) usageMetadata, thinking tokens included.
    assert usage["completion_tokens"] == 9 + 7
    (seen,) = fake.calls("streamGenerateContent")
    assert seen.query == {"alt": "sse"}
    assert seen.path.startswith("/v1/projects/test-project/locations/us-central1/")


async def test_stream_replays_a_recorded_stream(provider: VertexProvider, fake: FakeVertex) -> None:
    fake.replay(recorded("stream_text_flex"))
    chunks = await collect(provider, chat("Reply with exactly: OK", "gemini-3-flash-preview", stream=True))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "OK"
    assert chunks[-1]["usage"]["total_tokens"] == 106


async def test_stream_tool_calls(provider: VertexProvider) -> None:
    call = chat("What's the weather?", "gemini-2.5-flash", stream=True, tools=[WEATHER],
                tool_choice={"type": "function", "function": {"name": "get_weather"}})
    chunks = await collect(provider, call)
    deltas = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert len(deltas) == 1
    assert deltas[0]["index"] == 0 and deltas[0]["id"].startswith("call_")
    assert deltas[0]["function"] == {"name": "get_weather", "arguments": '{"city":"test"}'}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_stream_error_before_first_chunk(provider: VertexProvider, fake: FakeVertex) -> None:
    fake.fail_next(429, "RESOURCE_EXHAUSTED", "Quota exceeded", retry_delay="7s", content_type="text/event-stream")
    with pytest.raises(UpstreamError) as err:
        await collect(provider, chat("hi", stream=True))
    assert err.value.status == 429 and err.value.transient and err.value.retry_after_s == 7.0
    assert err.value.kind == "http"


# ---------------------------------------------------------------------- tools, multi-turn


async def test_tool_round_trip(provider: VertexProvider, fake: FakeVertex) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Use get_weather for Paris"}]
    out = await provider.invoke(chat(messages, "gemini-2.5-flash", tools=[WEATHER]))
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (tc,) = choice["message"]["tool_calls"]
    messages += [choice["message"], {"role": "tool", "tool_call_id": tc["id"], "content": '{"temp_c": 21}'}]
    out = await provider.invoke(chat(messages, "gemini-2.5-flash", tools=[WEATHER]))
    assert out["choices"][0]["message"]["content"] == 'Tool results: get_weather -> {"temp_c":21}'
    last = fake.calls("generateContent")[-1].body
    assert last["contents"][1]["parts"][0]["thoughtSignature"]  # replayed call carries a signature
    assert last["contents"][2]["parts"] == [{"functionResponse": {"name": "get_weather",
                                                                  "response": {"temp_c": 21}}}]


async def test_parallel_tool_calls_and_results(provider: VertexProvider, fake: FakeVertex) -> None:
    fake.replay(recorded("generate_function_call_parallel"))
    tool = {"type": "function", "function": {"name": "secret_retrieval_tool", "parameters": {
        "type": "object", "properties": {"password": {"type": "string"}}, "required": ["password"]}}}
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Use parallel tool calling."},
                                      {"role": "user", "content": "secrets for mellon,radiance"}]
    out = await provider.invoke(chat(messages, "gemini-2.5-flash", tools=[tool]))
    message = out["choices"][0]["message"]
    assert len(message["tool_calls"]) == 2
    messages.append(message)
    for tc in message["tool_calls"]:
        pw = json.loads(tc["function"]["arguments"])["password"]
        messages.append({"role": "tool", "tool_call_id": tc["id"], "content": f"secret-of-{pw}"})
    # The fake checks that both function responses come back in one turn.
    out = await provider.invoke(chat(messages, "gemini-2.5-flash", tools=[tool]))
    assert "secret-of-mellon" in out["choices"][0]["message"]["content"]
    assert "secret-of-radiance" in out["choices"][0]["message"]["content"]


async def test_tool_choice_none_suppresses_calls(provider: VertexProvider) -> None:
    out = await provider.invoke(chat("Use get_weather", tools=[WEATHER], tool_choice="none"))
    assert out["choices"][0]["finish_reason"] == "stop"
    assert "tool_calls" not in out["choices"][0]["message"]


async def test_image_input_reaches_upstream(provider: VertexProvider, fake: FakeVertex) -> None:
    data = base64.b64encode(b"\x89PNG\r\n").decode()
    await provider.invoke(chat([{"role": "user", "content": [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}]}]))
    parts = fake.calls("generateContent")[-1].body["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": data}}


# ---------------------------------------------------------------------- completions


async def test_text_completions(provider: VertexProvider) -> None:
    call = Call("completions", {"model": "gemini-2.0-flash", "prompt": "Say this is a test", "max_tokens": 20},
                "gemini-2.0-flash")
    out = await provider.invoke(call)
    assert out["object"] == "text_completion"
    assert out["choices"][0]["text"] == "Echo: Say this is a test"
    call.stream = True
    chunks = await collect(provider, call)
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "Echo: Say this is a test"
    assert chunks[-1]["usage"]["completion_tokens"] > 0


# ---------------------------------------------------------------------- embeddings


async def test_embeddings_predict_one_instance_per_call(provider: VertexProvider, fake: FakeVertex) -> None:
    body = {"model": "gemini-embedding-001", "input": ["alpha", "beta gamma", "delta"], "dimensions": 8}
    out = await provider.embed(Call("embeddings", body, "gemini-embedding-001"))
    assert [d["index"] for d in out["data"]] == [0, 1, 2]
    assert all(len(d["embedding"]) == 8 for d in out["data"])
    assert out["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    seen = fake.calls("predict")
    assert len(seen) == 3  # gemini-embedding-001 takes one instance per request
    assert seen[0].body["parameters"] == {"outputDimensionality": 8}
    # Order is kept even though the calls run concurrently.
    single = await provider.embed(Call("embeddings", {"input": "beta gamma", "dimensions": 8},
                                       "gemini-embedding-001"))
    assert single["data"][0]["embedding"] == out["data"][1]["embedding"]


async def test_embeddings_predict_batches_and_base64(provider: VertexProvider, fake: FakeVertex) -> None:
    body = {"input": ["a", "b"], "encoding_format": "base64"}
    out = await provider.embed(Call("embeddings", body, "text-embedding-005"))
    assert len(fake.calls("predict")) == 1
    vec = struct.unpack("<16f", base64.b64decode(out["data"][0]["embedding"]))
    assert len(vec) == 16 and any(v != 0 for v in vec)


async def test_embeddings_embed_content(provider: VertexProvider, fake: FakeVertex) -> None:
    out = await provider.embed(Call("embeddings", {"input": "Hello, world!", "dimensions": 4}, "gemini-embedding-2"))
    assert len(out["data"][0]["embedding"]) == 4
    (seen,) = fake.calls("embedContent")
    assert seen.path.startswith("/v1beta1/projects/test-project/locations/us-central1/")
    assert seen.body == {"content": {"parts": [{"text": "Hello, world!"}]}, "outputDimensionality": 4}
    fake.replay(recorded("embed_content_gemini_embedding_2"))
    out = await provider.embed(Call("embeddings", {"input": "x"}, "gemini-embedding-2"))
    assert len(out["data"][0]["embedding"]) == 3072 and out["usage"]["prompt_tokens"] == 11


async def test_embeddings_replay_predict(provider: VertexProvider, fake: FakeVertex) -> None:
    fake.replay(recorded("predict_embed_gemini_embedding_001"))
    out = await provider.embed(Call("embeddings", {"input": "Hello, world!"}, "gemini-embedding-001"))
    assert len(out["data"][0]["embedding"]) == 3072 and out["usage"]["total_tokens"] == 4


# ---------------------------------------------------------------------- errors


async def test_unknown_model_is_404(provider: VertexProvider) -> None:
    with pytest.raises(UpstreamError) as err:
        await provider.invoke(chat("hi", "gemini-does-not-exist"))
    assert err.value.status == 404 and err.value.code == "model_not_found" and err.value.client_caused


async def test_recorded_404_is_passed_through(provider: VertexProvider, fake: FakeVertex) -> None:
    fake.replay(recorded("generate_error_404_model"))
    with pytest.raises(UpstreamError) as err:
        await provider.invoke(chat("This should fail with NotFoundError"))
    assert err.value.status == 404 and "is not found" in err.value.message
    assert err.value.body is not None and err.value.body["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(("status", "rpc", "transient"), [
    (429, "RESOURCE_EXHAUSTED", True), (503, "UNAVAILABLE", True), (400, "INVALID_ARGUMENT", False),
    (403, "PERMISSION_DENIED", False), (504, "DEADLINE_EXCEEDED", True),
])
async def test_injected_faults(provider: VertexProvider, fake: FakeVertex, status: int, rpc: str,
                               transient: bool) -> None:
    fake.fail_next(status, rpc, "boom")
    with pytest.raises(UpstreamError) as err:
        await provider.invoke(chat("hi"))
    assert err.value.status == status and err.value.transient is transient
    assert err.value.message == "boom"
    # The fault was one-shot: the next call succeeds.
    assert (await provider.invoke(chat("hi")))["choices"][0]["message"]["content"] == "Echo: hi"


async def test_unsupported_parameter_never_reaches_upstream(provider: VertexProvider, fake: FakeVertex) -> None:
    with pytest.raises(UpstreamError) as err:
        await provider.invoke(chat("hi", logit_bias={"50256": -100}))
    assert err.value.status == 400 and err.value.param == "logit_bias"
    assert fake.requests == [] and fake.token_requests == 0


async def test_bad_credentials_are_401_not_retryable(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    untrusted, _ = make_service_account(fake.token_uri)
    p = make_provider(fake, untrusted)
    try:
        with pytest.raises(UpstreamError) as err:
            await p.invoke(chat("hi"))
    finally:
        await p.aclose()
    assert err.value.status == 401 and not err.value.transient and "rejected" in err.value.message


async def test_unreachable_token_endpoint_is_transient(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    p = make_provider(fake, {**sa_info, "token_uri": "http://127.0.0.1:9/token"})
    try:
        with pytest.raises(UpstreamError) as err:
            await p.invoke(chat("hi"))
    finally:
        await p.aclose()
    assert err.value.transient


# ---------------------------------------------------------------------- catalog, validation, health


async def test_list_models_follows_pages(provider: VertexProvider, fake: FakeVertex) -> None:
    fake.models |= {f"gemini-test-{i:03d}" for i in range(150)}
    models = await provider.list_models()
    ids = {m.id for m in models}
    assert len(models) == len(fake.models) and ids == fake.models
    kinds = {m.id: m.kind for m in models}
    assert kinds["gemini-embedding-001"] == "embeddings" and kinds["gemini-2.0-flash"] == "chat"


async def test_validate_ok(provider: VertexProvider) -> None:
    result = await provider.validate()
    assert result.ok, result.message
    assert "test-project" in result.message


async def test_validate_permission_denied(provider: VertexProvider, fake: FakeVertex) -> None:
    fake.denied_projects.add("test-project")
    result = await provider.validate()
    assert not result.ok
    assert "lacks permission" in result.message and "roles/aiplatform.user" in result.message


async def test_validate_rejected_key(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    untrusted, _ = make_service_account(fake.token_uri)
    p = make_provider(fake, untrusted)
    result = await p.validate()
    await p.aclose()
    assert not result.ok and "rejected" in result.message


async def test_validate_missing_key_file(fake: FakeVertex, tmp_path: Path) -> None:
    cfg = VertexProviderConfig(type="vertex", project="p", service_account_file=str(tmp_path / "nope.json"),
                               endpoint_url=fake.url)
    p = VertexProvider("gcp", cfg)
    result = await p.validate()
    await p.aclose()
    assert not result.ok and "not found" in result.message


async def test_health(provider: VertexProvider, fake: FakeVertex) -> None:
    assert await provider.health()
    await fake.stop()
    assert not await provider.health()


def test_default_hosts() -> None:
    def url(location: str) -> str:
        cfg = VertexProviderConfig(type="vertex", project="p", location=location)
        return VertexProvider("x", cfg).model_url("gemini-2.0-flash", "generateContent")

    assert url("europe-west4") == ("https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/"
                                   "europe-west4/publishers/google/models/gemini-2.0-flash:generateContent")
    assert url("global").startswith("https://aiplatform.googleapis.com/v1/projects/p/locations/global/")
