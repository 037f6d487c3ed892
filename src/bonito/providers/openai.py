"""OpenAI-compatible upstreams (OpenAI, vLLM, Ollama, Groq, Together…): a pass-through.

The request body goes upstream as the client sent it (model rewritten to the
upstream id by the gateway); answers come back as OpenAI already shapes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from yarl import URL

from bonito.config.schema import OpenAIProviderConfig
from bonito.providers.base import Call, ModelInfo, UpstreamError, ValidationResult, retry_after_s
from bonito.providers.transport import HttpTransport, iter_sse_data, json_object, json_or_none

_PATHS = {"chat": "/chat/completions", "completions": "/completions", "embeddings": "/embeddings"}


class OpenAIProvider:
    type = "openai"

    def __init__(self, provider_id: str, config: OpenAIProviderConfig) -> None:
        self.id = provider_id
        self.config = config
        self._base = config.base_url.rstrip("/")
        self._urls = {op: URL(self._base + path) for op, path in _PATHS.items()}  # parsed once, not per call
        self._headers = {"content-type": "application/json", "accept": "application/json", **config.headers}
        if config.api_key:
            self._headers["authorization"] = f"Bearer {config.api_key}"
        self._http = HttpTransport()

    def _payload(self, call: Call) -> bytes:
        return call.raw if call.raw is not None else orjson.dumps(call.body)

    async def invoke(self, call: Call) -> dict[str, Any]:
        return await self._post(call)

    async def embed(self, call: Call) -> dict[str, Any]:
        return await self._post(call)

    async def _post(self, call: Call) -> dict[str, Any]:
        status, _headers, body = await self._http.request(
            "POST", self._urls[call.operation], data=self._payload(call),
            headers=self._headers, timeout_s=min(call.timeout_s, self.config.timeout_s),
        )
        if status >= 400:
            raise error_from_response(status, _headers, body)
        return json_object(body)

    async def stream(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        timeout_s = min(call.timeout_s, self.config.timeout_s)
        headers = {**self._headers, "accept": "text/event-stream"}
        async with self._http.open_stream(
            "POST", self._urls[call.operation], data=self._payload(call),
            headers=headers, timeout_s=timeout_s,
        ) as resp:
            if resp.status >= 400:
                raise error_from_response(resp.status, resp.headers, await resp.read())
            async for data in iter_sse_data(resp, timeout_s):
                if data == b"[DONE]":
                    return
                chunk = json_or_none(data)
                if isinstance(chunk, dict):
                    if "error" in chunk and "choices" not in chunk:
                        err = chunk["error"] if isinstance(chunk["error"], dict) else {}
                        raise UpstreamError(502, str(err.get("message", "upstream stream error")), kind="stream")
                    yield chunk

    async def list_models(self) -> list[ModelInfo]:
        status, headers, body = await self._http.request(
            "GET", self._base + "/models", headers=self._headers, timeout_s=30
        )
        if status >= 400:
            raise error_from_response(status, headers, body)
        data = (json_or_none(body) or {}).get("data", [])
        out = []
        for m in data:
            mid = str(m.get("id", ""))
            out.append(ModelInfo(id=mid, name=mid, kind="embeddings" if "embed" in mid else "chat"))
        return out

    async def validate(self) -> ValidationResult:
        try:
            models = await self.list_models()
        except UpstreamError as exc:
            if exc.status in (401, 403):
                return ValidationResult(False, "the API key was rejected by the upstream")
            return ValidationResult(False, f"upstream check failed: {exc.message}")
        return ValidationResult(True, f"credentials work; {len(models)} models visible")

    async def health(self) -> bool:
        try:
            status, _, _ = await self._http.request("GET", self._base + "/models", headers=self._headers,
                                                    timeout_s=5)
        except UpstreamError:
            return False
        return status < 500

    async def aclose(self) -> None:
        await self._http.aclose()


def error_from_response(status: int, headers: Any, body: bytes) -> UpstreamError:
    """Turn an OpenAI-style error answer into an UpstreamError, keeping its body for pass-through."""
    parsed = json_or_none(body)
    err = parsed.get("error") if isinstance(parsed, dict) else None
    retry_after = retry_after_s(headers.get("retry-after") if headers is not None else None)
    if isinstance(err, dict):
        return UpstreamError(
            status, str(err.get("message") or f"upstream answered {status}"),
            type=str(err.get("type") or "upstream_error"), code=_opt_str(err.get("code")),
            param=_opt_str(err.get("param")), retry_after_s=retry_after, body={"error": err},
        )
    text = body[:200].decode("utf-8", "replace").strip() or f"upstream answered {status}"
    return UpstreamError(status, text, retry_after_s=retry_after)


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)
