"""Every recorded Azure exchange replayed through AzureProvider: same URL, same body, same answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import pytest

from bonito.config.schema import AzureProviderConfig
from bonito.providers.azure import AzureProvider
from bonito.providers.azure.errors import error_from_azure
from bonito.providers.base import Call, UpstreamError
from tests.fakes.anthropic import fixture_names, load_fixture, sse_events
from tests.fakes.azure import DEFAULT_USAGE, FakeAzure

KEY = "azure-test-key"


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[FakeAzure]:
    server = FakeAzure(api_key=KEY)
    await server.start()
    yield server
    await server.stop()


def provider_for(fake: FakeAzure, fixture: dict[str, Any]) -> tuple[AzureProvider, str]:
    """A provider configured like the recording (api-version or v1 path) and the deployment it called."""
    req = fixture["request"]
    v1 = req["path"].startswith("/openai/v1/")
    cfg = AzureProviderConfig(type="azure", endpoint=fake.endpoint, api_key=KEY, use_v1_api=v1,
                              api_version=req["query"].get("api-version", "2024-10-21"))
    deployment = req["body"]["model"] if v1 else unquote(req["path"].split("/")[3])
    return AzureProvider("az", cfg), deployment


def fake_deployment(name: str, deployment: str) -> str:
    """The fake picks the fixture by deployment name; the v1 unknown-model fixture keeps its model."""
    return deployment if name == "chat_v1_api_unknown_model_400" else name


@pytest.mark.parametrize("name", fixture_names("azure"))
async def test_fixture_replays_through_provider(name: str, fake: FakeAzure) -> None:
    fx = load_fixture("azure", name)
    provider, recorded_deployment = provider_for(fake, fx)
    deployment = fake_deployment(name, recorded_deployment)
    body = {**fx["request"]["body"], "model": deployment}
    call = Call("chat", body, deployment, stream=bool(body.get("stream")))
    resp = fx["response"]
    try:
        if resp["status"] >= 400:
            with pytest.raises(UpstreamError) as info:
                if call.stream:
                    [c async for c in provider.stream(call)]
                else:
                    await provider.invoke(call)
            assert info.value.status == resp["status"]
            assert info.value.body == {"error": resp["body"]["error"]}
            assert info.value.code == resp["body"]["error"]["code"] and info.value.client_caused
        elif call.stream:
            chunks = [c async for c in provider.stream(call)]
            recorded = [json.loads(e[6:]) for e in sse_events(resp["body_text"]) if e != "data: [DONE]\n\n"]
            assert recorded[0]["choices"] == [] and "prompt_filter_results" in recorded[0]
            assert chunks[:-1] == recorded[1:]  # the choices-less prompt-filter chunk is dropped
            assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == DEFAULT_USAGE
        else:
            # a null system_fingerprint (Azure's v1 API) is left out: OpenAI's schema has a string or nothing
            expected = {k: v for k, v in resp["body"].items() if not (k == "system_fingerprint" and v is None)}
            assert await provider.invoke(call) == expected
        sent = fake.requests[-1]
        v1 = fx["request"]["path"].startswith("/openai/v1/")
        assert sent["path"] == ("/openai/v1/chat/completions" if v1
                                else f"/openai/deployments/{deployment}/chat/completions")
        assert sent["query"] == fx["request"]["query"]
        assert sent["headers"]["api-key"] == KEY
        if call.stream:
            assert sent["body"]["stream_options"] == {"include_usage": True}
    finally:
        await provider.aclose()


def test_content_filter_400_stays_recognisable() -> None:
    resp = load_fixture("azure", "chat_content_filter_400")["response"]
    exc = error_from_azure(400, resp["headers"], json.dumps(resp["body"]).encode())
    assert (exc.status, exc.code, exc.param) == (400, "content_filter", "prompt")
    assert exc.message.startswith("The response was filtered due to the prompt triggering")
    assert exc.body is not None
    assert exc.body["error"]["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    assert exc.client_caused and not exc.transient


def test_v1_unknown_model_400() -> None:
    resp = load_fixture("azure", "chat_v1_api_unknown_model_400")["response"]
    exc = error_from_azure(400, resp["headers"], json.dumps(resp["body"]).encode())
    assert (exc.status, exc.code, exc.message) == (400, "unknown_model", "Unknown model: this-model-does-not-exist-12345")


def test_front_door_401_and_retry_after_ms() -> None:
    exc = error_from_azure(401, {}, b'{"statusCode": 401, "message": "Access denied due to invalid subscription key."}')
    assert exc.status == 401 and exc.message.startswith("Access denied") and exc.code == "401"
    throttled = error_from_azure(429, {"retry-after": "6", "retry-after-ms": "5500"},
                                 b'{"error": {"code": "429", "message": "Please retry after 6 seconds."}}')
    assert throttled.retry_after_s == 5.5 and throttled.transient

