"""The Bedrock provider: Converse / ConverseStream / InvokeModel over pooled HTTP with SigV4.

Translation lives in `converse*.py` and `embed.py`; this module only signs,
sends, decodes the eventstream and maps errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from bonito.config.schema import BedrockProviderConfig
from bonito.providers.base import Call, ModelInfo, UpstreamError, ValidationResult
from bonito.providers.bedrock.catalog import (
    STS_BODY,
    STS_CONTENT_TYPE,
    credential_problem,
    models_from_listing,
    parse_caller_identity,
    parse_sts_error,
)
from bonito.providers.bedrock.converse import ConverseRequest, chat_to_converse, completion_to_converse
from bonito.providers.bedrock.converse_response import chat_to_text_completion, converse_to_chat
from bonito.providers.bedrock.converse_stream import ConverseStreamTranslator
from bonito.providers.bedrock.embed import (
    embedding_response,
    plan_embeddings,
    read_cohere,
    read_titan,
)
from bonito.providers.bedrock.errors import error_from_exception_frame, error_from_http
from bonito.providers.bedrock.eventstream import EventStreamDecoder, EventStreamError
from bonito.providers.bedrock.signing import SigV4Signer
from bonito.providers.transport import HttpTransport, json_or_none

_JSON = "application/json"
_EVENTSTREAM = "application/vnd.amazon.eventstream"
_EMBED_CONCURRENCY = 8  # Titan needs one call per input; bound the fan-out per request.


class BedrockProvider:
    """An AWS account's Bedrock Runtime in one region (or behind `endpoint_url`)."""

    type = "bedrock"

    def __init__(self, provider_id: str, config: BedrockProviderConfig) -> None:
        self.id = provider_id
        self.config = config
        self._signer = SigV4Signer(config)
        self._http = HttpTransport()
        base = config.endpoint_url.rstrip("/") if config.endpoint_url else None
        region = config.region
        self._runtime = base or f"https://bedrock-runtime.{region}.amazonaws.com"
        self._control = base or f"https://bedrock.{region}.amazonaws.com"
        # With an endpoint override (local fakes, private endpoints) STS is expected at <endpoint>/sts.
        self._sts = f"{base}/sts" if base else f"https://sts.{region}.amazonaws.com/"

    # --- data plane ------------------------------------------------------------------------------

    async def invoke(self, call: Call) -> dict[str, Any]:
        """Converse (chat or completions); embeddings are delegated to `embed`."""
        if call.operation == "embeddings":
            return await self.embed(call)
        req = self._translate(call)
        status, headers, body = await self._send(
            "POST", self._model_url(call.upstream_model, "converse"), orjson.dumps(req.body),
            {"content-type": _JSON, "accept": _JSON}, self._timeout(call),
        )
        parsed = _json_body(status, headers, body)
        chat = converse_to_chat(parsed, call.upstream_model, json_tool=req.json_tool,
                                request_id=headers.get("x-amzn-requestid"))
        return chat_to_text_completion(chat) if call.operation == "completions" else chat

    async def stream(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        """ConverseStream decoded frame by frame; always ends with the usage chunk."""
        req = self._translate(call)
        timeout_s = self._timeout(call)
        url = self._model_url(call.upstream_model, "converse-stream")
        data = orjson.dumps(req.body)
        headers = await self._signer.sign("POST", url, data, {"content-type": _JSON, "accept": _EVENTSTREAM})
        async with self._http.open_stream("POST", _wire(url), data=data, headers=headers,
                                          timeout_s=timeout_s) as resp:
            if resp.status >= 400:
                raise error_from_http(resp.status, resp.headers, await resp.read())
            translator = ConverseStreamTranslator(
                call.upstream_model, json_tool=req.json_tool, text_completion=call.operation == "completions",
                request_id=resp.headers.get("x-amzn-requestid"),
            )
            decoder = EventStreamDecoder()
            started = False
            while True:
                piece = await _read_piece(resp, timeout_s)
                if not piece:
                    break
                try:
                    messages = decoder.feed(piece)
                except EventStreamError as exc:
                    raise UpstreamError(502, f"Bedrock stream is corrupt: {exc}", kind="stream") from exc
                for msg in messages:
                    if msg.message_type != "event":
                        err = error_from_exception_frame(msg.headers, msg.payload)
                        if not started:
                            # Nothing reached the client yet, so the gateway may still retry or fail over.
                            err.kind = "http"
                        raise err
                    payload = json_or_none(msg.payload)
                    for chunk in translator.on_event(msg.event_type, payload if isinstance(payload, dict) else {}):
                        started = True
                        yield chunk
            if decoder.pending or not translator.stopped:
                raise UpstreamError(502, "Bedrock stream ended before messageStop", kind="stream")
            yield translator.finish()

    async def embed(self, call: Call) -> dict[str, Any]:
        """Titan (one call per input, bounded fan-out) or Cohere (batched) through InvokeModel."""
        plan = plan_embeddings(call.body, call.upstream_model)
        url = self._model_url(call.upstream_model, "invoke")
        timeout_s = self._timeout(call)
        gate = asyncio.Semaphore(_EMBED_CONCURRENCY)

        async def one(body: dict[str, Any]) -> tuple[dict[str, Any], Mapping[str, str]]:
            async with gate:
                status, headers, raw = await self._send(
                    "POST", url, orjson.dumps(body), {"content-type": _JSON, "accept": _JSON}, timeout_s)
            return _json_body(status, headers, raw), headers

        try:
            async with asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(one(b)) for b in plan.bodies]
        except* UpstreamError as group:
            raise group.exceptions[0] from None
        vectors: list[list[float]] = []
        tokens = 0
        for task in tasks:
            answer, headers = task.result()
            if plan.family == "titan":
                vector, count = read_titan(answer)
                vectors.append(vector)
                tokens += count or _header_tokens(headers)
            else:
                vectors.extend(read_cohere(answer))
                tokens += _header_tokens(headers)
        return embedding_response(vectors, call.upstream_model, tokens, plan.encoding_format)

    # --- catalog, validation, health -------------------------------------------------------------

    async def list_models(self) -> list[ModelInfo]:
        """ListFoundationModels on the control-plane host (`bedrock.{region}`)."""
        status, headers, body = await self._send(
            "GET", self._control + "/foundation-models", None, {"accept": _JSON}, 30.0)
        return models_from_listing(_json_body(status, headers, body))

    async def validate(self) -> ValidationResult:
        """STS GetCallerIdentity (are the keys real and current?) then ListFoundationModels (may they use Bedrock?)."""
        try:
            status, _headers, body = await self._send(
                "POST", self._sts, STS_BODY, {"content-type": STS_CONTENT_TYPE, "accept": "text/xml"}, 15.0,
                service="sts")
        except UpstreamError as exc:
            return ValidationResult(False, _unreachable_or(exc))
        if status >= 400:
            code, message = parse_sts_error(body)
            return ValidationResult(False, credential_problem(code, message), {"code": code})
        try:
            identity = parse_caller_identity(body)
        except Exception:  # a malformed answer means we cannot vouch for the credentials
            return ValidationResult(False, "STS answered GetCallerIdentity with an unreadable body")
        arn = identity.get("Arn", "")
        try:
            models = await self.list_models()
        except UpstreamError as exc:
            if exc.status == 403 or exc.code == "AccessDeniedException":
                return ValidationResult(
                    False, f"the credentials are valid ({arn}) but may not use Bedrock in {self.config.region}: "
                           f"{exc.message} (grant bedrock:ListFoundationModels and bedrock:InvokeModel*)",
                    identity)
            return ValidationResult(False, f"the credentials are valid ({arn}) but Bedrock refused the check: "
                                           f"{exc.message}", identity)
        return ValidationResult(
            True, f"credentials work for {arn}; {len(models)} foundation models listed in {self.config.region}",
            {**identity, "models": len(models)})

    async def health(self) -> bool:
        """Whether the runtime endpoint answers at all (any non-5xx answer, no credentials needed)."""
        try:
            status, _, _ = await self._http.request("GET", self._runtime + "/ping", timeout_s=5.0)
        except UpstreamError:
            return False
        return status < 500

    async def aclose(self) -> None:
        """Release pooled connections."""
        await self._http.aclose()

    # --- plumbing --------------------------------------------------------------------------------

    def _translate(self, call: Call) -> ConverseRequest:
        if call.operation == "completions":
            return completion_to_converse(call.body)
        return chat_to_converse(call.body)

    def _model_url(self, model: str, action: str) -> str:
        # The model id (or ARN) is one path segment: ':' and '/' are percent-encoded, as boto does.
        return f"{self._runtime}/model/{quote(model, safe='')}/{action}"

    def _timeout(self, call: Call) -> float:
        return min(call.timeout_s, self.config.timeout_s)

    async def _send(self, method: str, url: str, data: bytes | None, headers: Mapping[str, str],
                    timeout_s: float, *, service: str = "bedrock") -> tuple[int, Mapping[str, str], bytes]:
        signed = await self._signer.sign(method, url, data, headers, service=service)
        return await self._http.request(method, _wire(url), data=data, headers=signed, timeout_s=timeout_s)


def _wire(url: str) -> URL:
    # aiohttp would re-quote a str URL and turn %3A back into ':', which breaks the
    # signature; an already-encoded yarl URL goes on the wire byte for byte.
    return URL(url, encoded=True)


def _json_body(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    if status >= 400:
        raise error_from_http(status, headers, body)
    parsed = json_or_none(body)
    if not isinstance(parsed, dict):
        raise UpstreamError(502, "Bedrock answered with a body that is not a JSON object", kind="protocol")
    return parsed


def _header_tokens(headers: Mapping[str, str]) -> int:
    try:
        return int(headers.get("x-amzn-bedrock-input-token-count") or 0)
    except ValueError:
        return 0


async def _read_piece(resp: aiohttp.ClientResponse, timeout_s: float) -> bytes:
    try:
        return await asyncio.wait_for(resp.content.readany(), timeout_s)
    except TimeoutError as exc:
        raise UpstreamError(504, "Bedrock stream stalled", kind="timeout", type="timeout") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamError(502, "Bedrock stream broke", kind="stream") from exc


def _unreachable_or(exc: UpstreamError) -> str:
    if exc.kind in ("connect", "timeout"):
        return f"could not reach AWS STS: {exc.message}"
    return exc.message

