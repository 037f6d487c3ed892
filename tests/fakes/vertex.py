"""A protocol-faithful local fake of Google Vertex AI (Gemini) and its OAuth token endpoint.

- `POST /token`: the RFC 7523 JWT-bearer exchange. The RS256 assertion is
  verified with the public key of the registered service account (iss, aud =
  Google's token endpoint, cloud-platform scope, a lifetime of at most an hour);
  answers `{"access_token", "expires_in", "token_type"}` or `invalid_grant`.
- `POST /{v1,v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{m}:{method}`
  for generateContent, streamGenerateContent (`alt=sse`: `data: {…}\\r\\n\\r\\n`
  events, cumulative usageMetadata; without it, a JSON array), predict and
  embedContent. The bearer token must be one this fake issued and not expired.
  Bodies are checked the way Vertex does (unknown fields, roles, empty parts,
  function-response count) and answered with google.rpc errors.
- `GET /v1beta1/publishers/google/models` (paged) and
  `GET /v1/projects/{p}/locations/{l}/models` (the provider's cheap read).

Answers are generated deterministically from the request, unless a test queued
one: `replay(fixture)` serves a recorded exchange, `fail_next(...)` injects an
error (429, 404, 503…).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
# The audience Google requires in the assertion, whatever token_uri the key names
# (google-auth always sends it); the fake also accepts its own token_uri.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

_GENERATE_FIELDS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
                    "safetySettings", "labels", "cachedContent", "modelArmorConfig"}
_GENERATION_CONFIG_FIELDS = {
    "temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences",
    "presencePenalty", "frequencyPenalty", "seed", "responseMimeType", "responseSchema",
    "responseJsonSchema", "responseLogprobs", "logprobs", "thinkingConfig", "responseModalities",
    "mediaResolution", "audioTimestamp", "speechConfig", "routingConfig",
}
_PART_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
              "codeExecutionResult"}
_PART_FIELDS = _PART_DATA | {"thought", "thoughtSignature", "videoMetadata"}
_DEFAULT_MODELS = ("gemini-2.0-flash", "gemini-2.0-flash-001", "gemini-2.5-flash", "gemini-2.5-pro",
                   "gemini-3-flash-preview", "gemini-embedding-001", "gemini-embedding-2",
                   "text-embedding-005")


def make_service_account(token_uri: str, *, email: str = "bonito-test@test-project.iam.gserviceaccount.com",
                         project: str = "test-project", key: rsa.RSAPrivateKey | None = None,
                         ) -> tuple[dict[str, Any], rsa.RSAPublicKey]:
    """A service-account key (JSON info) whose token_uri is the fake, and its public key.

    A new RSA key is generated unless one is given (generation takes ~50 ms).
    """
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {
        "type": "service_account", "project_id": project, "private_key_id": "test-key-1",
        "private_key": pem, "client_email": email, "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
    }
    return info, key.public_key()


@dataclass(slots=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass(slots=True)
class Canned:
    """A queued answer for the next model call."""

    status: int
    body: Any = None
    body_text: str | None = None
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


class RpcError(Exception):
    """An error to answer in the google.rpc envelope."""

    def __init__(self, status: int, rpc_status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.rpc_status, self.message = status, rpc_status, message


def rpc_body(status: int, rpc_status: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """Google's error envelope `{"error": {"code", "message", "status"}}`."""
    err: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if details:
        err["details"] = details
    return {"error": err}


class FakeVertex:
    """The fake server. `await start()`, point the provider's endpoint_url and token_uri at it."""

    def __init__(self, *, token_lifetime_s: int = 3599, embedding_dims: int = 16) -> None:
        self.token_lifetime_s = token_lifetime_s
        self.embedding_dims = embedding_dims
        self.models: set[str] = set(_DEFAULT_MODELS)
        self.denied_projects: set[str] = set()
        self.public_keys: dict[str, rsa.RSAPublicKey] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.monotonic)
        self.token_requests = 0
        self.token_forms: list[dict[str, str]] = []
        self.token_replay: dict[str, Any] | None = None  # a recorded token answer to serve instead
        self.requests: list[Seen] = []
        self.queue: deque[Canned] = deque()
        self.url = ""
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle and controls

    @property
    def token_uri(self) -> str:
        """Where service-account keys for this fake send the JWT-bearer exchange."""
        return self.url + "/token"

    def add_service_account(self, email: str, public_key: rsa.RSAPublicKey) -> None:
        """Trust assertions signed by this key for `email`."""
        self.public_keys[email] = public_key

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token (as a revoked or rotated key would)."""
        self.tokens.clear()

    def replay(self, fixture: dict[str, Any]) -> None:
        """Answer the next model call with a recorded fixture's response."""
        resp = fixture["response"]
        headers = dict(resp.get("headers") or {})
        self.queue.append(Canned(resp["status"], resp.get("body"), resp.get("body_text"),
                                 headers.get("content-type", "application/json; charset=UTF-8")))

    def fail_next(self, status: int, rpc_status: str, message: str = "", *, count: int = 1,
                  retry_delay: str | None = None, content_type: str = "application/json; charset=UTF-8") -> None:
        """Answer the next `count` model calls with a google.rpc error."""
        details = None
        if retry_delay:
            details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}]
        body = rpc_body(status, rpc_status, message or f"injected {rpc_status}", details)
        for _ in range(count):
            self.queue.append(Canned(status, body, content_type=content_type))

    def calls(self, method: str) -> list[Seen]:
        """The model calls received for one method (generateContent, predict…)."""
        return [s for s in self.requests if s.path.endswith(":" + method)]

    async def start(self) -> str:
        """Listen on a free local port; returns the base URL."""
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/token", self._token)
        app.router.add_post("/{version}/projects/{project}/locations/{location}/publishers/google/models/{tail}",
                            self._model_call)
        app.router.add_get("/v1beta1/publishers/google/models", self._publisher_models)
        app.router.add_get("/v1/projects/{project}/locations/{location}/models", self._project_models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Shut the server down."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ OAuth

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        self.token_forms.append({k: str(v) for k, v in form.items()})
        if request.content_type != "application/x-www-form-urlencoded" or form.get("grant_type") != JWT_BEARER:
            return _oauth_error("unsupported_grant_type", "Invalid grant_type.")
        assertion = str(form.get("assertion") or "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            key = self.public_keys.get(str(unverified.get("iss")))
            if key is None:
                return _oauth_error("invalid_grant", "Invalid grant: account not found")
            claims = jwt.decode(assertion, key, algorithms=["RS256"], audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri],
                                options={"require": ["iss", "aud", "iat", "exp"]}, leeway=5)
        except jwt.InvalidTokenError:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if CLOUD_PLATFORM not in str(claims.get("scope", "")).split():
            return _oauth_error("invalid_scope", "Missing the cloud-platform scope.")
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            return _oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)")
        if self.token_replay is not None:
            recorded = self.token_replay["response"]["body"]
            self.tokens[recorded["access_token"]] = time.monotonic() + int(recorded["expires_in"])
            return web.json_response(recorded, status=self.token_replay["response"]["status"])
        token = "ya29.fake-" + hashlib.sha256(f"{assertion}{time.monotonic_ns()}".encode()).hexdigest()[:32]
        self.tokens[token] = time.monotonic() + self.token_lifetime_s
        return web.json_response({"access_token": token, "expires_in": self.token_lifetime_s,
                                  "token_type": "Bearer"})

    def _check_bearer(self, request: web.Request) -> None:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        expiry = self.tokens.get(token)
        if expiry is None or time.monotonic() >= expiry:
            raise RpcError(401, "UNAUTHENTICATED",
                           "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                           "login cookie or other valid authentication credential.")

    # ------------------------------------------------------------------ model calls

    async def _model_call(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = orjson.loads(raw) if raw else None
        self.requests.append(Seen(request.method, request.path, dict(request.query),
                                  {k.lower(): v for k, v in request.headers.items()}, body))
        model, _, method = request.match_info["tail"].partition(":")
        sse = method == "streamGenerateContent" and request.query.get("alt") == "sse"
        try:
            self._check_bearer(request)
            if self.queue:
                return self._canned(self.queue.popleft())
            if model not in self.models:
                p, loc = request.match_info["project"], request.match_info["location"]
                raise RpcError(404, "NOT_FOUND", f"Publisher Model `projects/{p}/locations/{loc}/publishers/"
                                                 f"google/models/{model}` not found.")
            if not isinstance(body, dict):
                raise RpcError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
            if method == "generateContent":
                return web.json_response(_generate(body, model), dumps=_dumps)
            if method == "streamGenerateContent":
                return await self._stream(request, _generate(body, model), sse)
            if method == "predict":
                return web.json_response(self._predict(body, model), dumps=_dumps)
            if method == "embedContent":
                return web.json_response(self._embed_content(body), dumps=_dumps)
            raise RpcError(404, "NOT_FOUND", f"Method {method} not found.")
        except RpcError as exc:
            # Vertex answers a failing stream with a plain JSON error (content-type aside).
            return web.json_response(rpc_body(exc.status, exc.rpc_status, exc.message), status=exc.status)

    def _canned(self, canned: Canned) -> web.Response:
        text = canned.body_text if canned.body_text is not None else orjson.dumps(canned.body).decode()
        resp = web.Response(status=canned.status, text=text, headers=canned.headers)
        resp.headers["content-type"] = canned.content_type
        return resp

    async def _stream(self, request: web.Request, answer: dict[str, Any], sse: bool) -> web.StreamResponse:
        events = _split_stream(answer)
        if not sse:
            # Without alt=sse, Vertex streams one JSON array.
            return web.json_response(events, dumps=_dumps)
        resp = web.StreamResponse(headers={"content-type": "text/event-stream",
                                           "content-disposition": "attachment"})
        await resp.prepare(request)
        for event in events:
            await resp.write(b"data: " + orjson.dumps(event) + b"\r\n\r\n")
        await resp.write_eof()
        return resp

    def _predict(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        _check_fields(body, {"instances", "parameters"}, "")
        instances = body.get("instances") or []
        if model == "gemini-embedding-001" and len(instances) > 1:
            raise RpcError(400, "INVALID_ARGUMENT", "Unable to submit request because the model supports "
                                                    "only 1 instance per request.")
        dims = int((body.get("parameters") or {}).get("outputDimensionality") or self.embedding_dims)
        preds = []
        for inst in instances:
            text = str(inst.get("content", ""))
            preds.append({"embeddings": {"values": _vector(text, dims),
                                         "statistics": {"token_count": _tokens(text), "truncated": False}}})
        return {"predictions": preds, "metadata": {"billableCharacterCount": sum(
            len(str(i.get("content", ""))) for i in instances)}}

    def _embed_content(self, body: dict[str, Any]) -> dict[str, Any]:
        _check_fields(body, {"content", "taskType", "title", "outputDimensionality", "autoTruncate"}, "")
        text = "".join(str(p.get("text", "")) for p in (body.get("content") or {}).get("parts") or [])
        dims = int(body.get("outputDimensionality") or self.embedding_dims)
        n = _tokens(text)
        return {"embedding": {"values": _vector(text, dims)},
                "usageMetadata": {"promptTokenCount": n, "totalTokenCount": n}}

    # ------------------------------------------------------------------ catalog

    async def _publisher_models(self, request: web.Request) -> web.Response:
        try:
            self._check_bearer(request)
        except RpcError as exc:
            return web.json_response(rpc_body(exc.status, exc.rpc_status, exc.message), status=exc.status)
        names = sorted(self.models)
        size = int(request.query.get("pageSize", "100"))
        start = int(request.query.get("pageToken") or 0)
        page = names[start:start + size]
        out: dict[str, Any] = {"publisherModels": [
            {"name": f"publishers/google/models/{n}", "versionId": "001", "launchStage": "GA",
             "openSourceCategory": "PROPRIETARY"} for n in page]}
        if start + size < len(names):
            out["nextPageToken"] = str(start + size)
        return web.json_response(out)

    async def _project_models(self, request: web.Request) -> web.Response:
        try:
            self._check_bearer(request)
            project, location = request.match_info["project"], request.match_info["location"]
            if project in self.denied_projects:
                raise RpcError(403, "PERMISSION_DENIED",
                               f"Permission 'aiplatform.models.list' denied on resource '//aiplatform."
                               f"googleapis.com/projects/{project}/locations/{location}' (or it may not exist).")
        except RpcError as exc:
            return web.json_response(rpc_body(exc.status, exc.rpc_status, exc.message), status=exc.status)
        return web.json_response({"models": []})


@asynccontextmanager
async def running_fake(**kwargs: Any) -> AsyncIterator[FakeVertex]:
    """A started FakeVertex, stopped on exit."""
    fake = FakeVertex(**kwargs)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@contextmanager
def fake_in_thread(**kwargs: Any) -> Iterator[FakeVertex]:
    """A FakeVertex serving from its own event loop in a thread (for synchronous tests)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-vertex", daemon=True)
    thread.start()
    fake = FakeVertex(**kwargs)
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


# ---------------------------------------------------------------------- generation


def _generate(body: dict[str, Any], model: str) -> dict[str, Any]:
    """A deterministic GenerateContentResponse for a (validated) request."""
    _validate_generate(body)
    gen = body.get("generationConfig") or {}
    contents = body["contents"]
    last_parts = contents[-1]["parts"]
    prompt_tokens = sum(_tokens(_json_text(c)) for c in contents) + _tokens(_json_text(
        body.get("systemInstruction") or {}))
    calls = _function_calls(body)
    if calls:
        parts: list[dict[str, Any]] = [{"functionCall": c} for c in calls]
        parts[0]["thoughtSignature"] = "ZmFrZS1zaWduYXR1cmU="
        finish, out_tokens = "STOP", sum(_tokens(_json_text(c)) for c in calls)
    else:
        responses = [p["functionResponse"] for p in last_parts if "functionResponse" in p]
        if responses:
            text = "Tool results: " + "; ".join(
                f"{r['name']} -> {orjson.dumps(r['response']).decode()}" for r in responses)
        else:
            user_text = " ".join(p["text"] for p in last_parts if "text" in p)
            text = f"Echo: {user_text}"
        if gen.get("responseMimeType") == "application/json":
            text = orjson.dumps({"echo": text}).decode()
        finish = "STOP"
        for stop in gen.get("stopSequences") or []:
            if stop in text:
                text = text[: text.index(stop)]
        words = text.split(" ")
        limit = gen.get("maxOutputTokens")
        if limit is not None and len(words) > int(limit):
            text, finish = " ".join(words[: int(limit)]), "MAX_TOKENS"
        parts, out_tokens = [{"text": text}], _tokens(text)
    count = int(gen.get("candidateCount") or 1)
    candidates = [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": i}
                  for i in range(count)]
    thoughts = 7 if model.startswith(("gemini-2.5", "gemini-3")) else 0
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": out_tokens * count,
                             "totalTokenCount": prompt_tokens + out_tokens * count + thoughts,
                             "trafficType": "ON_DEMAND"}
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return {"candidates": candidates, "usageMetadata": usage, "modelVersion": model,
            "responseId": hashlib.sha1(_dumps(body).encode()).hexdigest()[:22]}


def _function_calls(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Call tools when told to (mode ANY), or when the last user text names a declared function."""
    decls = [d for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []]
    last = body["contents"][-1]
    if not decls or any("functionResponse" in p for p in last["parts"]):
        return []
    config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = config.get("mode", "AUTO")
    if mode == "NONE":
        return []
    allowed = config.get("allowedFunctionNames")
    decls = [d for d in decls if allowed is None or d["name"] in allowed]
    text = " ".join(p.get("text", "") for p in last["parts"])
    named = [d for d in decls if d["name"] in text]
    chosen = named or (decls[:1] if mode == "ANY" else [])
    return [{"name": d["name"], "args": _args_for(d.get("parametersJsonSchema") or d.get("parameters") or {})}
            for d in chosen]


def _args_for(schema: dict[str, Any]) -> dict[str, Any]:
    samples = {"string": "test", "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
    props = schema.get("properties") or {}
    return {name: samples.get(str(props.get(name, {}).get("type", "string")).lower(), "test")
            for name in schema.get("required") or []}


def _split_stream(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Slice an answer into SSE events the way Gemini does: text in pieces, usage cumulative."""
    cand = answer["candidates"][0]
    parts = cand["content"]["parts"]
    usage = answer["usageMetadata"]
    if "text" not in parts[0] or len(answer["candidates"]) > 1:
        return [answer]
    words = parts[0]["text"].split(" ")
    size = max(1, math.ceil(len(words) / 3))
    pieces = [" ".join(words[i:i + size]) + (" " if i + size < len(words) else "")
              for i in range(0, len(words), size)]
    events: list[dict[str, Any]] = []
    done = 0
    for k, piece in enumerate(pieces):
        done += _tokens(piece)
        last = k == len(pieces) - 1
        ev_cand: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": piece}]}}
        ev_usage = {"promptTokenCount": usage["promptTokenCount"], "candidatesTokenCount": done,
                    "totalTokenCount": usage["promptTokenCount"] + done}
        if last:
            ev_cand["finishReason"] = cand["finishReason"]
            ev_usage = usage
        events.append({"candidates": [ev_cand], "usageMetadata": ev_usage,
                       "modelVersion": answer["modelVersion"], "responseId": answer["responseId"]})
    return events


def _validate_generate(body: dict[str, Any]) -> None:
    _check_fields(body, _GENERATE_FIELDS, "")
    _check_fields(body.get("generationConfig") or {}, _GENERATION_CONFIG_FIELDS, "generation_config.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise RpcError(400, "INVALID_ARGUMENT", "Unable to submit request because it must include at least "
                                                "one parts field.")
    pending_calls = 0
    for i, content in enumerate(contents):
        role = content.get("role")
        if role not in ("user", "model"):
            raise RpcError(400, "INVALID_ARGUMENT", f"Please use a valid role: user, model. (contents[{i}])")
        parts = content.get("parts")
        if not parts:
            raise RpcError(400, "INVALID_ARGUMENT", f"contents[{i}].parts must not be empty.")
        for j, part in enumerate(parts):
            _check_fields(part, _PART_FIELDS, f"contents[{i}].parts[{j}].")
            if len(_PART_DATA & part.keys()) != 1:
                raise RpcError(400, "INVALID_ARGUMENT", f"contents[{i}].parts[{j}] must hold one data field.")
            if part.get("text") == "":
                raise RpcError(400, "INVALID_ARGUMENT", "Unable to submit request because it has an empty "
                                                        "text parameter.")
            fr = part.get("functionResponse")
            if fr is not None and (not fr.get("name") or not isinstance(fr.get("response"), dict)):
                raise RpcError(400, "INVALID_ARGUMENT", "functionResponse needs a name and a response object.")
        calls = sum(1 for p in parts if "functionCall" in p)
        responses = sum(1 for p in parts if "functionResponse" in p)
        if responses and responses != pending_calls:
            raise RpcError(400, "INVALID_ARGUMENT", "Please ensure that the number of function response parts "
                                                    "is equal to the number of function call parts of the "
                                                    "function call turn.")
        pending_calls = calls if role == "model" else 0
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or []:
            if not decl.get("name"):
                raise RpcError(400, "INVALID_ARGUMENT", "function_declarations[].name is required.")


def _check_fields(obj: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in obj:
        if key not in allowed:
            raise RpcError(400, "INVALID_ARGUMENT",
                           f'Invalid JSON payload received. Unknown name "{key}" at \'{prefix.rstrip(".")}\': '
                           "Cannot find field.")


def _oauth_error(code: str, description: str) -> web.Response:
    return web.json_response({"error": code, "error_description": description}, status=400)


def _json_text(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((digest[i % len(digest)] - 128) / 128.0, 6) for i in range(dims)]


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()
