"""Azure OpenAI: OpenAI's wire format at deployment URLs, with `api-key` or Entra ID auth.

Classic paths: `{endpoint}/openai/deployments/{deployment}/{op}?api-version=…`
(the deployment is the call's upstream model). With `use_v1_api`:
`{endpoint}/openai/v1/{op}`, the deployment in the body's `model`, no api-version.
Bodies pass through; Azure's extra `prompt_filter_results` /
`content_filter_results` stay in them, and a content-filter 400 keeps its
`code: content_filter`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import orjson

from bonito.config.schema import AzureProviderConfig
from bonito.providers.azure.auth import EntraToken
from bonito.providers.azure.errors import error_from_azure
from bonito.providers.base import Call, ModelInfo, UpstreamError, ValidationResult
from bonito.providers.transport import HttpTransport, iter_sse_data, json_object, json_or_none

_OPERATIONS = {"chat": "chat/completions", "completions": "completions", "embeddings": "embeddings"}
# The data-plane deployments listing only exists in this older api-version.
_DEPLOYMENTS_API_VERSION = "2022-12-01"
# First api-version that accepts `stream_options` (usage in streams).
_STREAM_USAGE_SINCE = "2024-09-01"


class AzureProvider:
    """One Azure OpenAI resource."""

    type = "azure"

    def __init__(self, provider_id: str, config: AzureProviderConfig, *, entra: EntraToken | None = None) -> None:
        self.id = provider_id
        self.config = config
        self._endpoint = config.endpoint.rstrip("/")
        if self._endpoint.endswith("/openai"):  # accept either form of endpoint
            self._endpoint = self._endpoint[: -len("/openai")]
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        self._entra: EntraToken | None = None
        if config.api_key:
            self._headers["api-key"] = config.api_key
        else:
            self._entra = entra or EntraToken(config)
        self._http = HttpTransport()
        self._stream_usage = config.use_v1_api or config.api_version[:10] >= _STREAM_USAGE_SINCE

    def url(self, operation: str, deployment: str) -> str:
        """The upstream URL for an operation on a deployment."""
        op = _OPERATIONS[operation]
        if self.config.use_v1_api:
            return f"{self._endpoint}/openai/v1/{op}"
        return (f"{self._endpoint}/openai/deployments/{quote(deployment, safe='')}/{op}"
                f"?api-version={self.config.api_version}")

    async def _auth_headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {**self._headers, **(extra or {})}
        if self._entra is not None:
            headers["authorization"] = await self._entra.authorization()
        return headers

    def _payload(self, call: Call) -> bytes:
        if self.config.use_v1_api and call.body.get("model") != call.upstream_model:
            return orjson.dumps({**call.body, "model": call.upstream_model})
        return call.raw if call.raw is not None else orjson.dumps(call.body)

    async def invoke(self, call: Call) -> dict[str, Any]:
        """Chat or legacy completion, passed through."""
        return await self._post(call)

    async def embed(self, call: Call) -> dict[str, Any]:
        """Embeddings, passed through."""
        return await self._post(call)

    async def _post(self, call: Call) -> dict[str, Any]:
        status, headers, body = await self._http.request(
            "POST", self.url(call.operation, call.upstream_model), data=self._payload(call),
            headers=await self._auth_headers(), timeout_s=min(call.timeout_s, self.config.timeout_s),
        )
        if status >= 400:
            raise error_from_azure(status, headers, body)
        out = json_object(body)
        if "system_fingerprint" in out and out["system_fingerprint"] is None:
            del out["system_fingerprint"]  # Azure's v1 API sends null; OpenAI's schema has a string or nothing
        return out

    async def stream(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        """Chat or completion chunks as Azure sends them, minus its choices-less prompt-filter chunk.

        Usage is always asked for (`stream_options.include_usage`) where the api-version knows it
        (2024-09-01 on, and v1), so the stream ends with Azure's usage chunk. Older versions reject
        the field: it is left out, and no zero-count chunk is made up, so the gateway's own
        estimate meters the stream.
        """
        body = {**call.body, "stream": True}
        if self._stream_usage:
            body["stream_options"] = {**(call.body.get("stream_options") or {}), "include_usage": True}
        else:  # older api-versions reject the field outright
            body.pop("stream_options", None)
        if self.config.use_v1_api:
            body["model"] = call.upstream_model
        timeout_s = min(call.timeout_s, self.config.timeout_s)
        headers = await self._auth_headers({"accept": "text/event-stream"})
        async with self._http.open_stream(
            "POST", self.url(call.operation, call.upstream_model), data=orjson.dumps(body),
            headers=headers, timeout_s=timeout_s,
        ) as resp:
            if resp.status >= 400:
                raise error_from_azure(resp.status, resp.headers, await resp.read())
            async for data in iter_sse_data(resp, timeout_s):
                if data == b"[DONE]":
                    break
                chunk = json_or_none(data)
                if not isinstance(chunk, dict):
                    raise UpstreamError(502, "upstream sent an SSE event that is not JSON", kind="stream")
                if "error" in chunk and "choices" not in chunk:
                    err = chunk["error"] if isinstance(chunk["error"], dict) else {}
                    raise UpstreamError(502, str(err.get("message", "upstream stream error")), kind="stream",
                                        code=_opt_str(err.get("code")))
                if not chunk.get("choices") and not chunk.get("usage"):
                    continue  # Azure's leading prompt_filter_results chunk: nothing for a client
                yield chunk

    async def list_models(self) -> list[ModelInfo]:
        """The resource's deployments (classic listing), else the models the resource offers."""
        status, headers, body = await self._get(
            f"{self._endpoint}/openai/deployments?api-version={_DEPLOYMENTS_API_VERSION}")
        if status < 400:
            return [_deployment_info(d) for d in _data(body)]
        if status != 404:
            raise error_from_azure(status, headers, body)
        url = (f"{self._endpoint}/openai/v1/models" if self.config.use_v1_api
               else f"{self._endpoint}/openai/models?api-version={self.config.api_version}")
        status, headers, body = await self._get(url)
        if status >= 400:
            raise error_from_azure(status, headers, body)
        return [_model_info(m) for m in _data(body)]

    async def _get(self, url: str, timeout_s: float = 30) -> tuple[int, Mapping[str, str], bytes]:
        return await self._http.request("GET", url, headers=await self._auth_headers(), timeout_s=timeout_s)

    async def validate(self) -> ValidationResult:
        """Acquire a token (Entra ID) and list deployments; the message names what failed."""
        how = "Entra ID" if self._entra is not None else "api-key"
        try:
            models = await self.list_models()
        except UpstreamError as exc:
            if exc.code == "entra_token_failed":
                return ValidationResult(False, exc.message)
            if exc.status == 401:
                return ValidationResult(False, f"Azure rejected the {how} credentials (401): {exc.message}")
            if exc.status == 403:
                return ValidationResult(False, f"the {how} identity lacks access to this resource (403); "
                                               "it needs the 'Cognitive Services OpenAI User' role")
            if exc.status == 404:
                return ValidationResult(False, "no Azure OpenAI resource answered at this endpoint (404)")
            return ValidationResult(False, f"Azure check failed: {exc.message}")
        return ValidationResult(True, f"credentials work ({how}); {len(models)} deployments visible",
                                {"deployments": [m.id for m in models]})

    async def health(self) -> bool:
        """Whether the resource answers at all (any status below 500)."""
        try:
            status, _, _ = await self._get(
                f"{self._endpoint}/openai/deployments?api-version={_DEPLOYMENTS_API_VERSION}", timeout_s=5)
        except UpstreamError:
            return False
        return status < 500

    async def aclose(self) -> None:
        """Release pooled connections and the token client."""
        await self._http.aclose()
        if self._entra is not None:
            await self._entra.aclose()


def _data(body: bytes) -> list[dict[str, Any]]:
    parsed = json_or_none(body)
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, list):
        raise UpstreamError(502, "model list is not JSON with a data array", kind="protocol")
    return [d for d in data if isinstance(d, dict)]


def _kind(name: str, capabilities: Mapping[str, Any] | None = None) -> Any:
    caps = capabilities or {}
    if caps.get("embeddings") or "embed" in name:
        return "embeddings"
    if caps.get("chat_completion") or not caps:
        return "chat"
    return "completions" if caps.get("completion") else "other"


def _deployment_info(d: Mapping[str, Any]) -> ModelInfo:
    name = str(d.get("id", ""))
    model = str(d.get("model", ""))
    return ModelInfo(id=name, name=model or name, kind=_kind(model or name),
                     extra={"model": model, "status": d.get("status")})


def _model_info(m: Mapping[str, Any]) -> ModelInfo:
    mid = str(m.get("id", ""))
    caps = m.get("capabilities") if isinstance(m.get("capabilities"), dict) else None
    return ModelInfo(id=mid, name=mid, kind=_kind(mid, caps),
                     extra={"lifecycle_status": m.get("lifecycle_status")})


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)
