"""A protocol-faithful local fake of AWS Bedrock Runtime (plus the few control-plane calls Bonito makes).

It checks every request's SigV4 signature by recomputing it with botocore, as
AWS does (canonical URI = the raw, already-encoded path encoded once more),
answers Converse with JSON, ConverseStream with real eventstream frames
(CRC-checked by any client), InvokeModel for Titan/Cohere embeddings,
ListFoundationModels and STS GetCallerIdentity. Tests script it: replay a
recorded fixture, fail the next call with an AWS error class, break a stream
mid-way with an exception frame.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import re
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from bonito.providers.bedrock.eventstream import event_frame, exception_frame

_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")
_EVENTSTREAM = "application/vnd.amazon.eventstream"
_ERR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


@dataclass
class Recorded:
    """One request the fake received (raw path kept, as AWS sees it)."""

    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Scripted:
    """An answer queued for the next data-plane call."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    frames: list[bytes] | None = None  # eventstream frames, written one by one


class BedrockFake:
    """Start with `await fake.start()`; point `endpoint_url` at `fake.url`."""

    def __init__(self, *, access_key: str = "AKIDFAKE", secret_key: str = "fake-secret",
                 session_token: str | None = None, region: str = "us-east-1") -> None:
        self.access_key, self.secret_key, self.session_token, self.region = (
            access_key, secret_key, session_token, region)
        self.requests: list[Recorded] = []
        self.script: deque[Scripted] = deque()
        self.expired = False  # answer every call as if the session token had expired
        self.deny_bedrock = False  # STS works, Bedrock answers AccessDeniedException
        self.split_frames = True  # write each frame in two pieces to exercise incremental decoding
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/model/{model}/converse", self._converse)
        app.router.add_post("/model/{model}/converse-stream", self._converse_stream)
        app.router.add_post("/model/{model}/invoke", self._invoke)
        app.router.add_get("/foundation-models", self._foundation_models)
        app.router.add_post("/sts", self._sts)
        app.router.add_get("/ping", self._ping)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self) -> str:
        """Serve from a background thread (for synchronous tests driving a `bonito serve` subprocess)."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.stop())

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Bedrock did not start")
        return self.url

    def stop_thread(self) -> None:
        """Stop what `start_in_thread` started."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # --- scripting -------------------------------------------------------------------------------

    def fail_next(self, status: int, error_type: str, message: str) -> None:
        """The next data-plane call answers an AWS HTTP error (x-amzn-errortype + JSON message)."""
        self.script.append(Scripted(status, {"x-amzn-errortype": error_type + _ERR_TYPE_SUFFIX,
                                             "content-type": "application/json"},
                                    orjson.dumps({"message": message})))

    def replay(self, fixture: dict[str, Any]) -> None:
        """The next data-plane call answers exactly what a recorded fixture's response holds."""
        resp = fixture["response"]
        headers = {**resp.get("headers", {}), **resp.get("synthetic_headers", {})}
        headers.pop("connection", None)
        if "body_b64" in resp:
            self.script.append(Scripted(resp["status"], headers, frames=split_frames(
                base64.b64decode(resp["body_b64"]))))
        else:
            self.script.append(Scripted(resp["status"], headers, orjson.dumps(resp["body"])))

    def stream_then_fail(self, text: str, exception_type: str, message: str) -> None:
        """The next stream sends a little text, then an in-stream exception frame."""
        frames = [_event("messageStart", {"role": "assistant"}),
                  _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}),
                  exception_frame(exception_type, message)]
        self.script.append(Scripted(200, {"content-type": _EVENTSTREAM}, frames=frames))

    # --- auth ------------------------------------------------------------------------------------

    def _check_auth(self, request: web.Request, body: bytes, service: str) -> web.Response | None:
        """None when the signature is right; else the error AWS would answer."""
        m = _AUTH.fullmatch(request.headers.get("Authorization", ""))
        if m is None:
            return _error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        key, date, region, svc, signed, signature = m.groups()
        if key != self.access_key:
            return _error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        if region != self.region or svc != service:
            return _error(403, "InvalidSignatureException", f"Credential should be scoped to {self.region}/{service}")
        amz_date = request.headers.get("X-Amz-Date", "")
        if not amz_date.startswith(date):
            return _error(403, "InvalidSignatureException", "Date in Credential scope does not match X-Amz-Date")
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            return _error(403, "InvalidSignatureException", "host and x-amz-date must be signed")
        if self.session_token is not None:
            if request.headers.get("X-Amz-Security-Token") != self.session_token or "x-amz-security-token" not in names:
                return _error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        if self.expired:
            return _error(403, "ExpiredTokenException", "The security token included in the request is expired")
        # Recompute with botocore from exactly what arrived: raw path, signed headers, body.
        aws_req = AWSRequest(method=request.method, url=f"http://{request.host}{request.raw_path}", data=body,
                             headers={n: request.headers.get(n, "") for n in names})
        aws_req.context["timestamp"] = amz_date
        auth = SigV4Auth(ReadOnlyCredentials(self.access_key, self.secret_key, self.session_token), svc, region)
        expected = auth.signature(auth.string_to_sign(aws_req, auth.canonical_request(aws_req)), aws_req)
        if expected != signature:
            return _error(403, "InvalidSignatureException",
                          "The request signature we calculated does not match the signature you provided.")
        return None

    async def _admit(self, request: web.Request, service: str = "bedrock") -> tuple[bytes, web.Response | None]:
        body = await request.read()
        self.requests.append(Recorded(request.method, request.raw_path, dict(request.headers), body))
        refusal = self._check_auth(request, body, service)
        if refusal is None and self.deny_bedrock and service == "bedrock":
            refusal = _error(403, "AccessDeniedException", "User is not authorized to perform: bedrock:*")
        return body, refusal

    # --- handlers --------------------------------------------------------------------------------

    async def _converse(self, request: web.Request) -> web.StreamResponse:
        body, refusal = await self._admit(request)
        if refusal is not None:
            return refusal
        if self.script:
            return await self._scripted(request, self.script.popleft())
        problem = _validate_converse(request.match_info["model"], body)
        if problem is not None:
            return problem
        req = orjson.loads(body)
        content, stop = _default_answer(req)
        usage = {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18}
        return _json({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
                      "usage": usage, "metrics": {"latencyMs": 12}})

    async def _converse_stream(self, request: web.Request) -> web.StreamResponse:
        body, refusal = await self._admit(request)
        if refusal is not None:
            return refusal
        if self.script:
            return await self._scripted(request, self.script.popleft())
        problem = _validate_converse(request.match_info["model"], body)
        if problem is not None:
            return problem
        content, stop = _default_answer(orjson.loads(body))
        frames = [_event("messageStart", {"role": "assistant"})]
        for i, block in enumerate(content):
            if "text" in block:
                for word in re.findall(r"\S+\s*", block["text"]):
                    frames.append(_event("contentBlockDelta", {"contentBlockIndex": i, "delta": {"text": word}}))
            else:
                use = block["toolUse"]
                frames.append(_event("contentBlockStart", {"contentBlockIndex": i, "start": {
                    "toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}}))
                raw = orjson.dumps(use["input"]).decode()
                for j in range(0, len(raw), 5):  # input arrives as fragments of a JSON string
                    frames.append(_event("contentBlockDelta", {"contentBlockIndex": i,
                                                               "delta": {"toolUse": {"input": raw[j:j + 5]}}}))
            frames.append(_event("contentBlockStop", {"contentBlockIndex": i}))
        frames.append(_event("messageStop", {"stopReason": stop}))
        frames.append(_event("metadata", {"usage": {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18},
                                          "metrics": {"latencyMs": 12}}))
        return await self._scripted(request, Scripted(200, {"content-type": _EVENTSTREAM}, frames=frames))

    async def _invoke(self, request: web.Request) -> web.StreamResponse:
        body, refusal = await self._admit(request)
        if refusal is not None:
            return refusal
        if self.script:
            return await self._scripted(request, self.script.popleft())
        model = unquote(request.match_info["model"])
        req = orjson.loads(body)
        if "titan-embed" in model:
            if not isinstance(req.get("inputText"), str) or "texts" in req:
                return _error(400, "ValidationException", "Malformed input request: inputText required")
            dims = int(req.get("dimensions", 1024))
            tokens = len(req["inputText"].split())
            return _json({"embedding": _vector(req["inputText"], dims), "inputTextTokenCount": tokens},
                         {"x-amzn-bedrock-input-token-count": str(tokens)})
        if "cohere.embed" in model:
            texts = req.get("texts")
            if not isinstance(texts, list) or not req.get("input_type") or len(texts) > 96:
                return _error(400, "ValidationException", "Malformed input request: texts and input_type required")
            tokens = sum(len(t.split()) for t in texts)
            return _json({"embeddings": [_vector(t, 1024) for t in texts], "id": "fake", "texts": texts,
                          "response_type": "embeddings_floats"}, {"x-amzn-bedrock-input-token-count": str(tokens)})
        return _error(400, "ValidationException", "The provided model identifier is invalid.")

    async def _foundation_models(self, request: web.Request) -> web.StreamResponse:
        _body, refusal = await self._admit(request)
        if refusal is not None:
            return refusal
        return _json({"modelSummaries": [
            {"modelId": "amazon.nova-micro-v1:0", "modelName": "Nova Micro", "providerName": "Amazon",
             "inputModalities": ["TEXT"], "outputModalities": ["TEXT"], "responseStreamingSupported": True,
             "inferenceTypesSupported": ["INFERENCE_PROFILE"], "modelLifecycle": {"status": "ACTIVE"}},
            {"modelId": "amazon.titan-embed-text-v2:0", "modelName": "Titan Text Embeddings V2",
             "providerName": "Amazon", "inputModalities": ["TEXT"], "outputModalities": ["EMBEDDING"],
             "inferenceTypesSupported": ["ON_DEMAND"], "modelLifecycle": {"status": "ACTIVE"}},
        ]})

    async def _sts(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(Recorded(request.method, request.raw_path, dict(request.headers), body))
        refusal = self._check_auth(request, body, "sts")
        if refusal is not None:
            code = {"UnrecognizedClientException": "InvalidClientTokenId",
                    "InvalidSignatureException": "SignatureDoesNotMatch",
                    "ExpiredTokenException": "ExpiredToken"}.get(
                refusal.headers.get("x-amzn-errortype", "").split(":")[0], "AccessDenied")
            message = orjson.loads(refusal.body)["message"]  # type: ignore[arg-type]
            xml = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                   f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fake</RequestId>"
                   "</ErrorResponse>")
            return web.Response(status=403, body=xml.encode(), content_type="text/xml")
        if body != b"Action=GetCallerIdentity&Version=2011-06-15":
            return web.Response(status=400, text="unexpected STS action")
        xml = ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
               "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/bonito-test</Arn>"
               f"<UserId>{self.access_key}</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
               "<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></GetCallerIdentityResponse>")
        return web.Response(body=xml.encode(), content_type="text/xml")

    async def _ping(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="healthy")

    async def _scripted(self, request: web.Request, answer: Scripted) -> web.StreamResponse:
        headers = {"x-amzn-requestid": "fake-" + hashlib.sha1(request.raw_path.encode()).hexdigest()[:12],
                   **answer.headers}
        if answer.frames is None:
            content_type = headers.pop("content-type", "application/json")
            return web.Response(status=answer.status, body=answer.body, headers=headers, content_type=content_type)
        resp = web.StreamResponse(status=answer.status, headers=headers)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for frame in answer.frames:
            if self.split_frames and len(frame) > 20:
                await resp.write(frame[:7])
                await resp.write(frame[7:])
            else:
                await resp.write(frame)
        await resp.write_eof()
        return resp


def split_frames(raw: bytes) -> list[bytes]:
    """Cut a recorded eventstream body into its frames (length = first 4 bytes, big-endian)."""
    frames, i = [], 0
    while i < len(raw):
        (total,) = struct.unpack_from(">I", raw, i)
        frames.append(raw[i:i + total])
        i += total
    return frames


def _event(event_type: str, payload: dict[str, Any]) -> bytes:
    return event_frame(event_type, orjson.dumps({**payload, "p": "abcdefgh"}))


def _error(status: int, error_type: str, message: str) -> web.Response:
    return web.Response(status=status, body=orjson.dumps({"message": message}), content_type="application/json",
                        headers={"x-amzn-errortype": error_type + _ERR_TYPE_SUFFIX})


def _json(payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type="application/json", headers=headers)


def _vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [((digest[i % 32] / 255.0) - 0.5) for i in range(dims)]


def _validate_converse(model: str, body: bytes) -> web.Response | None:
    """The checks Bedrock makes that a translation bug would trip."""
    if "does-not-exist" in model:
        return _error(400, "ValidationException", "The provided model identifier is invalid.")
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error(400, "SerializationException", "Malformed JSON")
    allowed = {"messages", "system", "inferenceConfig", "toolConfig", "additionalModelRequestFields",
               "additionalModelResponseFieldPaths", "guardrailConfig", "performanceConfig", "promptVariables",
               "requestMetadata"}
    extra = set(req) - allowed
    if extra:
        return _error(400, "ValidationException", f"extraneous key [{sorted(extra)[0]}] is not permitted")
    messages = req.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        return _error(400, "ValidationException", "A conversation must start with a user message.")
    for a, b in itertools.pairwise(messages):
        if a["role"] == b["role"]:
            return _error(400, "ValidationException", "A conversation must alternate between user and assistant roles.")
    uses_tools = any("toolUse" in c or "toolResult" in c for m in messages for c in m["content"])
    if uses_tools and not req.get("toolConfig"):
        return _error(400, "ValidationException",
                      "The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    for m in messages:
        for c in m["content"]:
            if "text" in c and not c["text"].strip() and m["role"] == "assistant":
                return _error(400, "ValidationException", "The text field in the ContentBlock object is blank.")
    return None


def _default_answer(req: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """A deterministic answer: a forced or requested tool call, else a greeting quoting the last text."""
    tool_config = req.get("toolConfig") or {}
    choice = tool_config.get("toolChoice") or {}
    last = req["messages"][-1]["content"]
    has_result = any("toolResult" in c for c in last)
    tools = [t["toolSpec"]["name"] for t in tool_config.get("tools", [])]
    forced = (choice.get("tool") or {}).get("name") or (tools[0] if "any" in choice else None)
    asked = next((n for n in tools if any(n in c.get("text", "") for c in last)), None)
    name = forced or (None if has_result else asked)
    if name:
        args: dict[str, Any] = {"city": "Paris"} if name != "json_response" else {"answer": "Paris"}
        return [{"toolUse": {"toolUseId": "tooluse_fake0001", "name": name, "input": args}}], "tool_use"
    said = " ".join(c.get("text", "") for c in last if "text" in c) or "tool results"
    return [{"text": f"Hello from fake Bedrock: {said}"}], "end_turn"
