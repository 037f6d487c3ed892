"""BedrockProvider end to end against the local fake: real HTTP, real SigV4, real eventstream frames."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bonito.config.schema import BedrockProviderConfig
from bonito.providers.base import Call, Provider, UpstreamError
from bonito.providers.bedrock import BedrockProvider
from bonito.providers.bedrock.converse_stream import ConverseStreamTranslator
from bonito.providers.bedrock.eventstream import EventStreamDecoder
from bonito.providers.registry import build_provider
from tests.fakes.bedrock import BedrockFake

BEDROCK = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "bedrock"
NOVA = "us.amazon.nova-micro-v1:0"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                           "parameters": {"type": "object",
                                                          "properties": {"city": {"type": "string"}}}}}]


def fixture(name: str) -> dict[str, Any]:
    return json.loads((BEDROCK / f"{name}.json").read_text())  # type: ignore[no-any-return]


def config(url: str, **kw: Any) -> BedrockProviderConfig:
    kw.setdefault("access_key_id", "AKIDFAKE")
    kw.setdefault("secret_access_key", "fake-secret")
    return BedrockProviderConfig(type="bedrock", region="us-east-1", endpoint_url=url, **kw)


@pytest.fixture
async def fake() -> AsyncIterator[BedrockFake]:
    server = BedrockFake(session_token="tok-123")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def provider(fake: BedrockFake) -> AsyncIterator[BedrockProvider]:
    p = BedrockProvider("aws", config(fake.url, session_token="tok-123"))
    yield p
    await p.aclose()


def chat(model: str = NOVA, **extra: Any) -> Call:
    body = {"model": model, "messages": [{"role": "user", "content": "Hello there"}], **extra}
    return Call("chat", body, model, stream=bool(extra.get("stream")))


async def collect(p: BedrockProvider, call: Call) -> list[dict[str, Any]]:
    return [c async for c in p.stream(call)]


async def test_registry_builds_it(fake: BedrockFake) -> None:
    p = build_provider("aws", config(fake.url))
    assert isinstance(p, BedrockProvider) and isinstance(p, Provider)
    await p.aclose()


async def test_invoke_is_signed_and_translated(provider: BedrockProvider, fake: BedrockFake) -> None:
    out = await provider.invoke(chat(max_tokens=20, stop=["END"]))
    assert out["choices"][0]["message"]["content"] == "Hello from fake Bedrock: Hello there"
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    sent = fake.requests[-1]
    # The model id goes on the wire percent-encoded, as boto sends it; the fake verified the signature.
    assert sent.raw_path == "/model/us.amazon.nova-micro-v1%3A0/converse"
    assert "Credential=AKIDFAKE/" in sent.headers["Authorization"] and "/us-east-1/bedrock/" in sent.headers[
        "Authorization"]
    assert sent.headers["X-Amz-Security-Token"] == "tok-123"
    assert sent.json() == {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}],
                           "inferenceConfig": {"maxTokens": 20, "stopSequences": ["END"]}}


async def test_wrong_secret_is_refused_by_signature_check(fake: BedrockFake) -> None:
    p = BedrockProvider("aws", config(fake.url, secret_access_key="wrong", session_token="tok-123"))
    with pytest.raises(UpstreamError) as err:
        await p.invoke(chat())
    await p.aclose()
    assert err.value.status == 502 and "InvalidSignatureException" in err.value.message
    assert not err.value.client_caused


async def test_inference_profile_arn_as_model_id_signs_correctly(provider: BedrockProvider,
                                                                 fake: BedrockFake) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0"
    out = await provider.invoke(chat(arn))
    assert out["model"] == arn
    assert fake.requests[-1].raw_path.startswith("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3A"
                                                 "inference-profile%2Fus.amazon.nova-micro-v1%3A0/")


async def test_tool_call_round_trip(provider: BedrockProvider, fake: BedrockFake) -> None:
    out = await provider.invoke(chat(messages=[{"role": "user", "content": "use get_weather please"}],
                                     tools=TOOLS, tool_choice="auto"))
    msg = out["choices"][0]["message"]
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert msg["tool_calls"] == [{"id": "tooluse_fake0001", "type": "function",
                                  "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    follow = await provider.invoke(chat(tools=TOOLS, messages=[
        {"role": "user", "content": "use get_weather please"}, msg,
        {"role": "tool", "tool_call_id": "tooluse_fake0001", "content": "sunny"}]))
    assert follow["choices"][0]["message"]["content"] == "Hello from fake Bedrock: tool results"
    turns = fake.requests[-1].json()["messages"]
    assert turns[1]["content"] == [{"toolUse": {"toolUseId": "tooluse_fake0001", "name": "get_weather",
                                                "input": {"city": "Paris"}}}]
    assert turns[2]["content"] == [{"toolResult": {"toolUseId": "tooluse_fake0001",
                                                   "content": [{"text": "sunny"}]}}]


async def test_json_schema_mode(provider: BedrockProvider) -> None:
    out = await provider.invoke(chat(response_format={"type": "json_schema", "json_schema": {
        "name": "a", "schema": {"type": "object", "properties": {"answer": {"type": "string"}}}}}))
    assert json.loads(out["choices"][0]["message"]["content"]) == {"answer": "Paris"}
    assert out["choices"][0]["finish_reason"] == "stop"


async def test_completions_operation(provider: BedrockProvider) -> None:
    out = await provider.invoke(Call("completions", {"model": NOVA, "prompt": "Say hi", "max_tokens": 5}, NOVA))
    assert out["object"] == "text_completion"
    assert out["choices"][0]["text"] == "Hello from fake Bedrock: Say hi"
    chunks = [c async for c in provider.stream(Call("completions", {"model": NOVA, "prompt": "Say hi",
                                                                    "stream": True}, NOVA, stream=True))]
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "Hello from fake Bedrock: Say hi"
    assert chunks[-1]["usage"]["total_tokens"] == 18


async def test_stream_text_ends_with_usage(provider: BedrockProvider, fake: BedrockFake) -> None:
    chunks = await collect(provider, chat(stream=True))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello from fake Bedrock: Hello there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 18
    assert fake.requests[-1].raw_path.endswith("/converse-stream")


async def test_stream_tool_call_arguments_arrive_in_fragments(provider: BedrockProvider) -> None:
    chunks = await collect(provider, chat(stream=True, tools=TOOLS, tool_choice="required"))
    deltas = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert deltas[0]["id"] == "tooluse_fake0001" and deltas[0]["function"]["name"] == "get_weather"
    assert "".join(d["function"]["arguments"] for d in deltas) == '{"city":"Paris"}'
    assert len(deltas) > 2
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("name", sorted(p.stem for p in BEDROCK.glob("converse_stream_*.json")))
async def test_recorded_streams_replayed_over_http_match_direct_translation(
        provider: BedrockProvider, fake: BedrockFake, name: str) -> None:
    fx = fixture(name)
    fake.replay(fx)
    chunks = await collect(provider, chat(stream=True))
    expected = ConverseStreamTranslator(NOVA)
    direct = [c for m in EventStreamDecoder().feed(base64.b64decode(fx["response"]["body_b64"]))
              for c in expected.on_event(m.event_type, json.loads(m.payload))] + [expected.finish()]
    strip = [{k: v for k, v in c.items() if k not in ("id", "created")} for c in chunks]
    assert strip == [{k: v for k, v in c.items() if k not in ("id", "created")} for c in direct]


@pytest.mark.parametrize("name", ["converse_tool_use_claude", "converse_content_filtered", "converse_top_p"])
async def test_recorded_answers_replayed_over_http(provider: BedrockProvider, fake: BedrockFake, name: str) -> None:
    fx = fixture(name)
    fake.replay(fx)
    out = await provider.invoke(chat())
    assert out["usage"]["total_tokens"] == fx["response"]["body"]["usage"]["totalTokens"]
    if name == "converse_content_filtered":
        assert out["choices"][0]["finish_reason"] == "content_filter"
        assert out["id"] == "chatcmpl-43b2280c482241a9967095a19a2d58ee"  # Bedrock's x-amzn-requestid


async def test_recorded_validation_error(provider: BedrockProvider, fake: BedrockFake) -> None:
    fake.replay(fixture("converse_error_400_invalid_model"))
    with pytest.raises(UpstreamError) as err:
        await provider.invoke(chat("us.does-not-exist-model-v1:0"))
    assert err.value.status == 400 and err.value.client_caused
    assert err.value.message == "The provided model identifier is invalid."


@pytest.mark.parametrize("cls, status", [("ThrottlingException", 429), ("ValidationException", 400),
                                         ("AccessDeniedException", 403), ("ResourceNotFoundException", 404),
                                         ("ModelNotReadyException", 503), ("ModelTimeoutException", 504),
                                         ("InternalServerException", 500)])
async def test_injected_http_errors(provider: BedrockProvider, fake: BedrockFake, cls: str, status: int) -> None:
    fake.fail_next(status if status < 500 else 500, cls, f"{cls} injected")
    with pytest.raises(UpstreamError) as err:
        await provider.invoke(chat())
    assert err.value.status == status and err.value.kind == "http" and err.value.message == f"{cls} injected"


async def test_throttled_stream_fails_before_any_chunk(provider: BedrockProvider, fake: BedrockFake) -> None:
    fake.fail_next(429, "ThrottlingException", "Too many requests, please wait before trying again.")
    with pytest.raises(UpstreamError) as err:
        await collect(provider, chat(stream=True))
    assert err.value.status == 429 and err.value.kind == "http" and err.value.transient


async def test_exception_frame_mid_stream_is_a_stream_error(provider: BedrockProvider, fake: BedrockFake) -> None:
    fake.stream_then_fail("Partial ", "throttlingException", "Too many tokens, please wait.")
    got: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError) as err:
        async for chunk in provider.stream(chat(stream=True)):
            got.append(chunk)
    assert err.value.kind == "stream" and err.value.status == 429
    assert got[-1]["choices"][0]["delta"]["content"] == "Partial "


async def test_unsupported_parameter_fails_before_any_request(provider: BedrockProvider, fake: BedrockFake) -> None:
    with pytest.raises(UpstreamError) as err:
        await provider.invoke(chat(seed=1))
    assert err.value.status == 400 and err.value.param == "seed" and fake.requests == []


async def test_embed_titan_one_call_per_input_and_base64(provider: BedrockProvider, fake: BedrockFake) -> None:
    model = "amazon.titan-embed-text-v2:0"
    out = await provider.embed(Call("embeddings", {"model": model, "input": ["one two", "three"],
                                                   "dimensions": 256, "encoding_format": "base64"}, model))
    assert [d["index"] for d in out["data"]] == [0, 1]
    vec = struct.unpack("<256f", base64.b64decode(out["data"][0]["embedding"]))
    assert len(vec) == 256
    assert out["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    sent = [r.json() for r in fake.requests]
    assert sorted(s["inputText"] for s in sent) == ["one two", "three"]
    assert all(r.raw_path == "/model/amazon.titan-embed-text-v2%3A0/invoke" for r in fake.requests)


async def test_embed_cohere_batch(provider: BedrockProvider, fake: BedrockFake) -> None:
    model = "cohere.embed-english-v3"
    out = await provider.embed(Call("embeddings", {"model": model, "input": ["a b", "c"]}, model))
    assert len(out["data"]) == 2 and len(out["data"][1]["embedding"]) == 1024
    assert out["usage"]["prompt_tokens"] == 3  # from x-amzn-bedrock-input-token-count
    assert fake.requests[-1].json() == {"texts": ["a b", "c"], "input_type": "search_document"}


async def test_embed_error_is_mapped(provider: BedrockProvider, fake: BedrockFake) -> None:
    fake.fail_next(429, "ThrottlingException", "slow down")
    with pytest.raises(UpstreamError) as err:
        await provider.embed(Call("embeddings", {"model": "m", "input": "x"}, "amazon.titan-embed-text-v2:0"))
    assert err.value.status == 429


async def test_list_models(provider: BedrockProvider) -> None:
    models = await provider.list_models()
    assert [(m.id, m.kind) for m in models] == [("amazon.nova-micro-v1:0", "chat"),
                                                ("amazon.titan-embed-text-v2:0", "embeddings")]


async def test_validate_ok_and_each_failure_says_what_is_wrong(fake: BedrockFake) -> None:
    async def check(**kw: Any) -> Any:
        p = BedrockProvider("aws", config(fake.url, **kw))
        try:
            return await p.validate()
        finally:
            await p.aclose()

    ok = await check(session_token="tok-123")
    assert ok.ok and "arn:aws:iam::123456789012:user/bonito-test" in ok.message
    wrong_key = await check(access_key_id="AKIDOTHER", session_token="tok-123")
    assert not wrong_key.ok and "does not recognise the access key id" in wrong_key.message
    wrong_secret = await check(secret_access_key="nope", session_token="tok-123")
    assert not wrong_secret.ok and "secret access key does not match" in wrong_secret.message
    fake.expired = True
    expired = await check(session_token="tok-123")
    assert not expired.ok and "expired" in expired.message
    fake.expired = False
    fake.deny_bedrock = True
    denied = await check(session_token="tok-123")
    assert not denied.ok and "valid" in denied.message and "may not use Bedrock" in denied.message


async def test_validate_unreachable_and_health(fake: BedrockFake) -> None:
    p = BedrockProvider("aws", config(fake.url))
    assert await p.health()
    await p.aclose()
    dead = BedrockProvider("aws", config("http://127.0.0.1:9"))
    assert not await dead.health()
    result = await dead.validate()
    assert not result.ok and "could not reach" in result.message
    await dead.aclose()


async def test_credentials_from_the_environment(fake: BedrockFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "tok-123")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    p = BedrockProvider("aws", BedrockProviderConfig(type="bedrock", endpoint_url=fake.url))
    out = await p.invoke(chat())
    await p.aclose()
    assert out["choices"][0]["message"]["content"].startswith("Hello from fake Bedrock")


async def test_fake_refuses_a_tampered_body_and_a_requoted_path(fake: BedrockFake) -> None:
    import aiohttp
    from yarl import URL

    from bonito.providers.bedrock.signing import SigV4Signer

    signer = SigV4Signer(config(fake.url, session_token="tok-123"))
    url = fake.url + "/model/amazon.nova-micro-v1%3A0/converse"
    body = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
    headers = await signer.sign("POST", url, body, {"content-type": "application/json"})
    async with aiohttp.ClientSession() as session:
        async with session.post(URL(url, encoded=True), data=body, headers=headers) as ok:
            assert ok.status == 200
        async with session.post(URL(url, encoded=True), data=body + b" ", headers=headers) as tampered:
            assert tampered.status == 403 and tampered.headers["x-amzn-errortype"].startswith(
                "InvalidSignatureException")
        # aiohttp re-quotes a str URL (%3A -> ':'), which changes the canonical path: AWS would refuse it.
        async with session.post(url, data=body, headers=headers) as requoted:
            assert requoted.status == 403


async def test_no_credentials_anywhere_is_a_clear_error(fake: BedrockFake, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    p = BedrockProvider("aws", BedrockProviderConfig(type="bedrock", endpoint_url=fake.url))
    with pytest.raises(UpstreamError) as err:
        await p.invoke(chat())
    assert "no AWS credentials found" in err.value.message and fake.requests == []
    result = await p.validate()
    assert not result.ok and "no AWS credentials found" in result.message
    await p.aclose()
