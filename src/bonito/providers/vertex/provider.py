"""Google Vertex AI (Gemini) provider: the transport around the pure translation modules.

`generateContent`, `streamGenerateContent?alt=sse`, `:predict` and
`:embedContent` under `{base}/v1/projects/{project}/locations/{location}/
publishers/google/models/{model}`, authorized with a service-account token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from bonito.config.schema import VertexProviderConfig
from bonito.providers.base import Call, ModelInfo, UpstreamError, ValidationResult
from bonito.providers.transport import HttpTransport, iter_sse_data, json_or_none
from bonito.providers.vertex import embed as emb
from bonito.providers.vertex import gemini
from bonito.providers.vertex.auth import CredentialsError, ServiceAccountTokenSource
from bonito.providers.vertex.errors import stream_error, vertex_error
from bonito.providers.vertex.streaming import StreamTranslator

# Concurrent upstream calls one embeddings request may fan out to.
_EMBED_CONCURRENCY = 8


def default_base_url(location: str) -> str:
    """The Vertex AI host for a location ("global" has no regional prefix)."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


class VertexProvider:
    """One Vertex AI project/location, authorized by one service account."""

    type = "vertex"

    def __init__(self, provider_id: str, config: VertexProviderConfig) -> None:
        self.id = provider_id
        self.config = config
        self._base = (config.endpoint_url or default_base_url(config.location)).rstrip("/")
        self._scope = f"projects/{quote(config.project, safe='')}/locations/{quote(config.location, safe='')}"
        self._tokens = ServiceAccountTokenSource(service_account_file=config.service_account_file,
                                                 service_account_json=config.service_account_json)
        self._http = HttpTransport()

    def model_url(self, model: str, method: str, version: str = "v1") -> str:
        """The URL of one publisher-model method, e.g. `…/models/gemini-2.0-flash:generateContent`."""
        return f"{self._base}/{version}/{self._scope}/publishers/google/models/{quote(model, safe='')}:{method}"

    # ------------------------------------------------------------------ chat / completions

    async def invoke(self, call: Call) -> dict[str, Any]:
        """Non-streaming chat or text completion through `generateContent`."""
        payload = self._generate_body(call)
        answer = await self._post_json(self.model_url(call.upstream_model, "generateContent"), payload,
                                       self._timeout(call))
        chat = gemini.chat_response(answer, call.upstream_model)
        return gemini.text_completion(chat) if call.operation == "completions" else chat

    async def stream(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        """Streaming chat or text completion; always ends with a usage chunk."""
        payload = self._generate_body(call)
        timeout_s = self._timeout(call)
        translator = StreamTranslator(call.upstream_model, text_completion=call.operation == "completions")
        url = self.model_url(call.upstream_model, "streamGenerateContent") + "?alt=sse"
        async with self._open_stream(url, payload, timeout_s) as resp:
            async for data in iter_sse_data(resp, timeout_s):
                event = json_or_none(data)
                if not isinstance(event, dict):
                    raise UpstreamError(502, "Vertex AI sent a stream event that is not JSON", kind="stream")
                if "error" in event and "candidates" not in event:
                    raise stream_error(event)
                for chunk in translator.feed(event):
                    yield chunk
        for chunk in translator.finish():
            yield chunk

    def _generate_body(self, call: Call) -> bytes:
        if call.operation == "chat":
            body = gemini.chat_request(call.body, call.upstream_model)
        elif call.operation == "completions":
            body = gemini.completion_request(call.body, call.upstream_model)
        else:
            raise UpstreamError(400, f"operation '{call.operation}' is not a generation",
                                type="invalid_request_error")
        return orjson.dumps(body)

    # ------------------------------------------------------------------ embeddings

    async def embed(self, call: Call) -> dict[str, Any]:
        """Embeddings through `:predict` or `:embedContent`, fanned out to the model's batch limit."""
        texts = emb.embedding_inputs(call.body)
        dims = call.body.get("dimensions")
        model = call.upstream_model
        timeout_s = self._timeout(call)
        gate = asyncio.Semaphore(_EMBED_CONCURRENCY)

        async def post(url: str, payload: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                return await self._post_json(url, orjson.dumps(payload), timeout_s)

        vectors: list[list[float]] = []
        tokens = 0
        if emb.uses_embed_content(model):
            # embedContent is only published under v1beta1 on Vertex.
            url = self.model_url(model, "embedContent", version="v1beta1")
            answers = await asyncio.gather(*(post(url, emb.embed_content_request(t, dims)) for t in texts))
            for answer in answers:
                vec, n = emb.parse_embed_content(answer)
                vectors.append(vec)
                tokens += n
        else:
            url = self.model_url(model, "predict")
            batches = emb.predict_batches(model, texts)
            answers = await asyncio.gather(*(post(url, emb.predict_request(b, dims)) for b in batches))
            for answer in answers:
                vecs, n = emb.parse_predict(answer)
                vectors.extend(vecs)
                tokens += n
        if len(vectors) != len(texts):
            raise UpstreamError(502, f"Vertex AI returned {len(vectors)} embeddings for {len(texts)} inputs",
                                kind="protocol")
        return emb.embeddings_response(vectors, tokens, model, call.body.get("encoding_format"))

    # ------------------------------------------------------------------ catalog, validation, health

    async def list_models(self) -> list[ModelInfo]:
        """Google's publisher models (`GET {base}/v1beta1/publishers/google/models`), all pages."""
        out: list[ModelInfo] = []
        page_token = ""
        for _ in range(50):  # a bound, in case the upstream keeps answering the same page token
            url = f"{self._base}/v1beta1/publishers/google/models?pageSize=100"
            if page_token:
                url += f"&pageToken={quote(page_token, safe='')}"
            answer = await self._get_json(url, 30.0)
            for m in answer.get("publisherModels") or []:
                out.append(_model_info(m))
            page_token = str(answer.get("nextPageToken") or "")
            if not page_token:
                break
        return out

    async def validate(self) -> ValidationResult:
        """Get a token, then read the project's model list (cheap, needs roles/aiplatform.user)."""
        details = {"project": self.config.project, "location": self.config.location}
        try:
            await self._tokens.token()
        except CredentialsError as exc:
            return ValidationResult(False, exc.message, details)
        try:
            await self._get_json(f"{self._base}/v1/{self._scope}/models?pageSize=1", 30.0)
        except UpstreamError as exc:
            return ValidationResult(False, _validation_message(exc, self.config), details)
        return ValidationResult(True, f"credentials work for project '{self.config.project}' "
                                      f"in {self.config.location}", details)

    async def health(self) -> bool:
        """Whether the Vertex endpoint answers at all (no credentials needed)."""
        try:
            status, _, _ = await self._http.request(
                "GET", f"{self._base}/v1beta1/publishers/google/models?pageSize=1", timeout_s=5.0)
        except UpstreamError:
            return False
        return status < 500

    async def aclose(self) -> None:
        """Release pooled connections."""
        await self._http.aclose()

    # ------------------------------------------------------------------ transport

    def _timeout(self, call: Call) -> float:
        return min(call.timeout_s, self.config.timeout_s)

    async def _auth_headers(self) -> tuple[str, dict[str, str]]:
        try:
            token = await self._tokens.token()
        except CredentialsError as exc:
            if exc.retryable:
                raise UpstreamError(503, f"Vertex AI token: {exc.message}", kind="connect") from exc
            raise UpstreamError(401, f"Vertex AI credentials: {exc.message}", type="authentication_error",
                                code="invalid_credentials") from exc
        return token, {"authorization": f"Bearer {token}", "content-type": "application/json",
                       "accept": "application/json"}

    async def _post_json(self, url: str, payload: bytes, timeout_s: float) -> dict[str, Any]:
        return await self._send("POST", url, payload, timeout_s)

    async def _get_json(self, url: str, timeout_s: float) -> dict[str, Any]:
        return await self._send("GET", url, None, timeout_s)

    async def _send(self, method: str, url: str, payload: bytes | None, timeout_s: float) -> dict[str, Any]:
        for attempt in (1, 2):
            token, headers = await self._auth_headers()
            status, resp_headers, body = await self._http.request(method, url, data=payload, headers=headers,
                                                                  timeout_s=timeout_s)
            if status == 401 and attempt == 1:
                # The cached token was revoked or expired early: fetch a new one, once.
                self._tokens.invalidate(token)
                continue
            if status >= 400:
                raise vertex_error(status, resp_headers, body)
            parsed = json_or_none(body)
            if not isinstance(parsed, dict):
                raise UpstreamError(502, "Vertex AI answered with a body that is not a JSON object",
                                    kind="protocol")
            return parsed
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def _open_stream(self, url: str, payload: bytes, timeout_s: float
                           ) -> AsyncIterator[aiohttp.ClientResponse]:
        for attempt in (1, 2):
            token, headers = await self._auth_headers()
            headers["accept"] = "text/event-stream"
            async with self._http.open_stream("POST", url, data=payload, headers=headers,
                                              timeout_s=timeout_s) as resp:
                # A failing stream answers a JSON error, whatever its content-type says.
                if resp.status == 401 and attempt == 1:
                    await resp.read()
                    self._tokens.invalidate(token)
                    continue
                if resp.status >= 400:
                    raise vertex_error(resp.status, resp.headers, await _read(resp))
                yield resp
                return


async def _read(resp: aiohttp.ClientResponse) -> bytes:
    try:
        return await resp.read()
    except aiohttp.ClientError:
        return b""


def _model_info(m: dict[str, Any]) -> ModelInfo:
    name = str(m.get("name", ""))
    mid = name.rsplit("/", 1)[-1]
    kind: Any = "other"
    if "embedding" in mid:
        kind = "embeddings"
    elif mid.startswith(("gemini", "gemma")):
        kind = "chat"
    extra: dict[str, Any] = {k: m[k] for k in ("versionId", "launchStage", "openSourceCategory") if k in m}
    return ModelInfo(id=mid, name=name or mid, kind=kind, extra=extra)


def _validation_message(exc: UpstreamError, config: VertexProviderConfig) -> str:
    if exc.status == 401:
        return f"Vertex AI rejected the service account's token: {exc.message}"
    if exc.status == 403:
        return (f"the service account lacks permission on project '{config.project}' "
                f"(it needs roles/aiplatform.user), or the Vertex AI API is not enabled: {exc.message}")
    if exc.status == 404:
        return f"project '{config.project}' or location '{config.location}' was not found: {exc.message}"
    return f"Vertex AI check failed ({exc.status}): {exc.message}"
