"""The Anthropic Messages API (`POST {base}/v1/messages`) behind the `Provider` protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from bonito.config.schema import AnthropicProviderConfig
from bonito.providers.anthropic.errors import error_from_anthropic
from bonito.providers.anthropic.messages import (
    PROVIDER,
    chat_to_text_completion,
    completion_to_messages_request,
    from_messages_response,
    to_messages_request,
)
from bonito.providers.anthropic.stream import MessagesStream
from bonito.providers.base import Call, ModelInfo, UpstreamError, ValidationResult, unsupported
from bonito.providers.transport import HttpTransport, iter_sse_events, json_or_none

_MODELS_PAGE = 1000
_MAX_MODEL_PAGES = 10


class AnthropicProvider:
    """One Anthropic account: chat and legacy completions over Messages; no embeddings."""

    type = PROVIDER

    def __init__(self, provider_id: str, config: AnthropicProviderConfig) -> None:
        self.id = provider_id
        self.config = config
        self._base = config.base_url.rstrip("/")
        if self._base.endswith("/v1"):  # accept either form of base_url
            self._base = self._base[:-3]
        self._headers = {"content-type": "application/json", "accept": "application/json",
                         "anthropic-version": config.anthropic_version}
        if config.api_key:
            self._headers["x-api-key"] = config.api_key
        self._http = HttpTransport()

    def _request_body(self, call: Call, *, stream: bool) -> dict[str, Any]:
        if call.operation == "chat":
            return to_messages_request(call.body, call.upstream_model, stream=stream)
        if call.operation == "completions":
            return completion_to_messages_request(call.body, call.upstream_model, stream=stream)
        raise unsupported(call.operation, PROVIDER, "Anthropic has no embeddings API")

    async def invoke(self, call: Call) -> dict[str, Any]:
        """Chat (or legacy completion) without streaming."""
        payload = orjson.dumps(self._request_body(call, stream=False))
        status, headers, body = await self._http.request(
            "POST", self._base + "/v1/messages", data=payload, headers=self._headers,
            timeout_s=min(call.timeout_s, self.config.timeout_s),
        )
        if status >= 400:
            raise error_from_anthropic(status, headers, body)
        parsed = json_or_none(body)
        if not isinstance(parsed, dict) or parsed.get("type") == "error":
            if isinstance(parsed, dict):
                raise error_from_anthropic(502, headers, body)
            raise UpstreamError(502, "upstream answered with a body that is not JSON", kind="protocol")
        chat = from_messages_response(parsed)
        return chat_to_text_completion(chat) if call.operation == "completions" else chat

    async def stream(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        """Chat (or legacy completion) as OpenAI chunks; always ends with the usage chunk."""
        payload = orjson.dumps(self._request_body(call, stream=True))
        timeout_s = min(call.timeout_s, self.config.timeout_s)
        headers = {**self._headers, "accept": "text/event-stream"}
        translator = MessagesStream(
            object_name="text_completion" if call.operation == "completions" else "chat.completion.chunk")
        async with self._http.open_stream("POST", self._base + "/v1/messages", data=payload,
                                          headers=headers, timeout_s=timeout_s) as resp:
            if resp.status >= 400:
                raise error_from_anthropic(resp.status, resp.headers, await resp.read())
            async for event, data in iter_sse_events(resp, timeout_s):
                parsed = json_or_none(data)
                if not isinstance(parsed, dict):
                    raise UpstreamError(502, "upstream sent an SSE event that is not JSON", kind="stream")
                for chunk in translator.feed(event, parsed):
                    yield chunk
                if translator.done:
                    return
        translator.finish()

    async def embed(self, call: Call) -> dict[str, Any]:
        """Anthropic has no embeddings: always a 400."""
        raise unsupported("embeddings", PROVIDER, "Anthropic has no embeddings API")

    async def list_models(self) -> list[ModelInfo]:
        """`GET /v1/models`, following pages."""
        out: list[ModelInfo] = []
        after = ""
        for _ in range(_MAX_MODEL_PAGES):
            url = f"{self._base}/v1/models?limit={_MODELS_PAGE}" + (f"&after_id={after}" if after else "")
            status, headers, body = await self._http.request("GET", url, headers=self._headers, timeout_s=30)
            if status >= 400:
                raise error_from_anthropic(status, headers, body)
            page = json_or_none(body)
            if not isinstance(page, dict):
                raise UpstreamError(502, "model list is not JSON", kind="protocol")
            for m in page.get("data") or []:
                mid = str(m.get("id", ""))
                out.append(ModelInfo(id=mid, name=str(m.get("display_name") or mid), kind="chat",
                                     extra={"created_at": m.get("created_at")}))
            after = str(page.get("last_id") or "")
            if not page.get("has_more") or not after:
                break
        return out

    async def validate(self) -> ValidationResult:
        """List models with the key: cheap, authenticated, and says which failure it was."""
        if not self.config.api_key:
            return ValidationResult(False, "no api_key is configured")
        try:
            models = await self.list_models()
        except UpstreamError as exc:
            if exc.status == 401:
                return ValidationResult(False, "the API key was rejected by Anthropic (authentication_error)")
            if exc.status == 403:
                return ValidationResult(False, "the API key lacks permission to list models (permission_error)")
            return ValidationResult(False, f"Anthropic check failed: {exc.message}")
        return ValidationResult(True, f"credentials work; {len(models)} models visible",
                                {"models": len(models)})

    async def health(self) -> bool:
        """Whether the API answers at all (any status below 500)."""
        try:
            status, _, _ = await self._http.request("GET", f"{self._base}/v1/models?limit=1",
                                                    headers=self._headers, timeout_s=5)
        except UpstreamError:
            return False
        return status < 500

    async def aclose(self) -> None:
        """Release pooled connections."""
        await self._http.aclose()
