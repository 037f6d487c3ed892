"""A protocol-faithful local Azure OpenAI resource (plus an Entra ID token endpoint) replaying fixtures.

Data plane (plain HTTP):
- `POST /openai/deployments/{deployment}/{chat/completions|completions|embeddings}?api-version=…`
  and `POST /openai/v1/{…}` (deployment in the body's `model`, no api-version).
- Auth: `api-key` equal to `api_key`, or `Authorization: Bearer <token>` for a
  token this fake's token endpoint issued. Wrong or missing: Azure's 401.
- A missing api-version on the classic path: Azure's 404 "Resource not found".
- The deployment names the fixture to replay (`chat_text`, `chat_stream_tool_calls`,
  `chat_content_filter_400`…); unknown names fall back to `chat_text` /
  `chat_stream_text`; `missing-*` is a DeploymentNotFound 404. With
  `stream_options.include_usage` a usage chunk precedes `[DONE]`, as Azure sends it.
- Faults (append to `faults`): "rate_limit" -> 429 with retry-after(-ms),
  "server_error" -> 500, "stream_error" -> an error event mid-stream.
- `GET /openai/deployments?api-version=2022-12-01` lists `deployments`.

Entra ID (HTTPS with a self-signed certificate, since azure-identity insists on
https authorities): `POST /{tenant}/oauth2/v2.0/token` client-credentials grant.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.anthropic import free_port, in_thread, load_fixture, sse_events

SCOPE = "https://cognitiveservices.azure.com/.default"
DEFAULT_USAGE = {"prompt_tokens": 15, "completion_tokens": 9, "total_tokens": 24}


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


class FakeAzure:
    """The fake resource; `await start()` returns its endpoint, `token_authority` the Entra host."""

    def __init__(self, *, api_key: str = "azure-test-key", tenant_id: str = "00000000-0000-0000-0000-00000000tnt0",
                 client_id: str = "client-1", client_secret: str = "secret-1", token_lifetime_s: int = 3599,
                 with_token_endpoint: bool = False) -> None:
        self.api_key = api_key
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime_s = token_lifetime_s
        self.with_token_endpoint = with_token_endpoint
        self.faults: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, str]] = []
        self.deployments = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
        # deployment -> (status, JSON body) served instead of a fixture
        self.overrides: dict[str, tuple[int, dict[str, Any]]] = {}
        self._issued: set[str] = set()
        self._fixtures: dict[str, dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.endpoint = ""
        self.token_authority = ""
        self.ca_file = ""

    def fixture(self, name: str) -> dict[str, Any] | None:
        if name not in self._fixtures:
            try:
                self._fixtures[name] = load_fixture("azure", name)
            except FileNotFoundError:
                return None
        return self._fixtures[name]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/openai/deployments/{deployment}/{op:chat/completions|completions|embeddings}",
                            self._deployment_call)
        app.router.add_post("/openai/v1/{op:chat/completions|completions|embeddings}", self._v1_call)
        app.router.add_get("/openai/deployments", self._list_deployments)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.endpoint = f"http://127.0.0.1:{port}"
        if self.with_token_endpoint:
            self._tmp = tempfile.TemporaryDirectory()
            cert, key = write_self_signed_cert(Path(self._tmp.name))
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
            tls_port = free_port()
            await web.TCPSite(self._runner, "127.0.0.1", tls_port, ssl_context=ctx).start()
            self.token_authority = f"https://127.0.0.1:{tls_port}"
            self.ca_file = str(cert)
        return self.endpoint

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @contextmanager
    def running(self) -> Iterator[FakeAzure]:
        """Serve from a background thread: `with FakeAzure().running() as fake: …`."""
        with in_thread(self.start, self.stop):
            yield self

    # --- Entra ID ---------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        fields = {k: str(v) for k, v in form.items()}
        self.token_requests.append(fields)
        if request.match_info["tenant"] != self.tenant_id:
            return web.json_response({"error": "invalid_request", "error_description":
                                      "AADSTS90002: Tenant not found."}, status=400)
        if fields.get("grant_type") != "client_credentials" or fields.get("scope") != SCOPE:
            return web.json_response({"error": "invalid_request", "error_description":
                                      "AADSTS900144: bad grant_type or scope"}, status=400)
        if fields.get("client_id") != self.client_id or fields.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_client", "error_codes": [7000215], "error_description":
                                      "AADSTS7000215: Invalid client secret provided."}, status=401)
        token = f"entra-token-{len(self._issued) + 1}"
        self._issued.add(token)
        return web.json_response({"token_type": "Bearer", "expires_in": self.token_lifetime_s,
                                  "ext_expires_in": self.token_lifetime_s, "access_token": token})

    # --- data plane -------------------------------------------------------------------------------

    def _auth_error(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("api-key")
        bearer = request.headers.get("authorization", "")
        if key == self.api_key or (bearer.startswith("Bearer ") and bearer[7:] in self._issued):
            return None
        return _error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make "
                      "sure to provide a valid key for an active subscription and use a correct regional API "
                      "endpoint for your resource.")

    async def _list_deployments(self, request: web.Request) -> web.Response:
        if (err := self._auth_error(request)) is not None:
            return err
        if request.query.get("api-version") != "2022-12-01":
            return _error(404, "404", "Resource not found")
        data = [{"id": d, "model": d, "owner": "organization-owner", "object": "deployment", "status": "succeeded",
                 "scale_settings": {"scale_type": "standard"}} for d in self.deployments]
        return web.json_response({"data": data, "object": "list"})

    async def _deployment_call(self, request: web.Request) -> web.StreamResponse:
        if not request.query.get("api-version"):
            return _error(404, "404", "Resource not found")
        return await self._call(request, request.match_info["deployment"], request.match_info["op"], v1=False)

    async def _v1_call(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("api-version"):
            return _error(400, "BadRequest", "api-version query parameter is not allowed when using /v1 path")
        return await self._call(request, "", request.match_info["op"], v1=True)

    async def _call(self, request: web.Request, deployment: str, op: str, v1: bool) -> web.StreamResponse:
        if (err := self._auth_error(request)) is not None:
            return err
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "invalid_request", "request body is not valid JSON")
        self.requests.append({"path": request.path, "query": dict(request.query),
                              "headers": dict(request.headers), "body": body})
        if v1:
            deployment = str(body.get("model") or "")
            if deployment.startswith("this-model-does-not-exist"):
                return self._replay(request, "chat_v1_api_unknown_model_400")
        if deployment.startswith("missing-"):
            return _error(404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you "
                          "created the deployment within the last 5 minutes, please wait a moment and try again.")
        if deployment in self.overrides:
            status, payload = self.overrides[deployment]
            return web.json_response(payload, status=status)
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "rate_limit":
            resp = _error(429, "429", "Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                          "have exceeded call rate limit. Please retry after 6 seconds.")
            resp.headers["retry-after"] = "6"
            resp.headers["retry-after-ms"] = "5500"
            return resp
        if fault == "server_error":
            return _error(500, "InternalServerError", "The server had an error while processing your request.")
        if op == "embeddings":
            return web.json_response(load_fixture("openai", "embeddings_query")["response"]["body"])
        stream = bool(body.get("stream"))
        if "stream_options" in body and not v1 and request.query["api-version"][:10] < "2024-09-01":
            return _error(400, "BadRequest", "Unrecognized request argument supplied: stream_options")
        name = deployment if self.fixture(deployment) is not None else (
            "chat_stream_text" if stream else "chat_text")
        if op == "completions" and name in ("chat_text", "chat_stream_text"):
            return await self._completion(request, body, stream)
        recorded = self.fixture(name)
        assert recorded is not None
        if "body_text" in recorded["response"]:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self._write_stream(request, recorded["response"]["body_text"], include_usage,
                                            fault == "stream_error")
        return self._replay(request, name)

    def _replay(self, request: web.Request, name: str) -> web.Response:
        recorded = self.fixture(name)
        assert recorded is not None
        resp = recorded["response"]
        return web.json_response(resp["body"], status=resp["status"])

    async def _write_stream(self, request: web.Request, body_text: str, include_usage: bool, fail: bool
                            ) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"content-type": "text/event-stream; charset=utf-8"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        events = sse_events(body_text)
        last: dict[str, Any] = {}
        for i, event in enumerate(events):
            if fail and i == 3:
                await resp.write(b'data: {"error":{"code":"server_error","message":"The stream was interrupted."}}'
                                 b"\n\n")
                await resp.write_eof()
                return resp
            if event.startswith("data: [DONE]") and include_usage:
                usage: dict[str, Any] = {"choices": [], "created": last.get("created"), "id": last.get("id"),
                         "model": last.get("model"), "object": "chat.completion.chunk",
                         "system_fingerprint": last.get("system_fingerprint"), "usage": DEFAULT_USAGE}
                await resp.write(b"data: " + json.dumps(usage).encode() + b"\n\n")
            elif event.startswith("data: {"):
                last = json.loads(event[6:])
            await resp.write(event.encode())
        await resp.write_eof()
        return resp

    async def _completion(self, request: web.Request, body: dict[str, Any], stream: bool) -> web.StreamResponse:
        base = {"id": "cmpl-fake", "object": "text_completion", "created": 1762402675, "model": "gpt-35-turbo-instruct"}
        if not stream:
            return web.json_response({**base, "choices": [{"text": " 4242", "index": 0, "finish_reason": "stop",
                                                           "logprobs": None}], "usage": DEFAULT_USAGE})
        resp = web.StreamResponse(status=200, headers={"content-type": "text/event-stream; charset=utf-8"})
        await resp.prepare(request)
        for text, finish in ((" 42", None), ("42", "stop")):
            chunk = {**base, "choices": [{"text": text, "index": 0, "finish_reason": finish, "logprobs": None}]}
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            await resp.write(b"data: " + json.dumps({**base, "choices": [], "usage": DEFAULT_USAGE}).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def write_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A CA-capable self-signed certificate for 127.0.0.1/localhost; returns (cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bonito-fake-entra")])
    now = datetime.datetime.now(datetime.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
