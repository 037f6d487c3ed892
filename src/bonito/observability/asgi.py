"""An ASGI wrapper for the whole server: a span per request and, in json log mode, a line per request.

Only installed when traces or per-request lines are on; otherwise the server
runs unwrapped and pays nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from bonito.observability.context import RequestContext, current_request
from bonito.observability.logs import access_line, current_request_id
from bonito.observability.tracing import MAX_CONTENT_CHARS, Tracing
from bonito.usage.record import new_id

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
# Probes and scrapes come every few seconds: they get a log line but no span.
_UNTRACED = frozenset({"/health", "/health/ready", "/metrics"})


class RequestObserver:
    def __init__(self, app: ASGIApp, tracing: Tracing | None, access_log: bool) -> None:
        self.app = app
        self.tracing = tracing
        self.access_log = access_log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope, rid = _with_request_id(scope)
        ctx = RequestContext(rid)
        ctx_token = current_request.set(ctx)
        rid_token = current_request_id.set(rid)
        status = 500
        content: _Content | None = None
        tracing = self.tracing if scope["path"] not in _UNTRACED else None
        if tracing is not None:
            ctx.span = tracing.start_request(scope, rid)
            if tracing.capture_content and scope["path"].startswith("/v1/"):
                content = _Content()
                receive = content.wrap_receive(receive)

        async def observed_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif content is not None and message["type"] == "http.response.body":
                content.response(message.get("body", b""))
            await send(message)

        failure: BaseException | None = None
        try:
            await self.app(scope, receive, observed_send)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            current_request_id.reset(rid_token)
            current_request.reset(ctx_token)
            if tracing is not None:
                if ctx.record is not None:
                    tracing.annotate(ctx.span, ctx.record)
                if content is not None:
                    content.annotate(ctx.span)
                tracing.end_request(ctx.span, status, failure)
            if self.access_log:
                _log_request(scope, rid, status, started, ctx)


def _with_request_id(scope: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The request's id, known before it is served: the client's, or a new one given to the app
    as if the client had sent it (so the response and the usage record carry the same id)."""
    for k, v in scope.get("headers", ()):
        if k == b"x-request-id":
            if v and len(v) <= 200 and all(32 < c < 127 for c in v):
                return scope, v.decode()
            break
    rid = f"req_{new_id()}"
    headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"x-request-id"]
    headers.append((b"x-request-id", rid.encode()))
    return {**scope, "headers": headers}, rid


def _log_request(scope: dict[str, Any], rid: str, status: int, started: float, ctx: RequestContext) -> None:
    fields: dict[str, Any] = {"request_id": rid, "method": scope.get("method"), "path": scope.get("path"),
                              "status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 3)}
    r = ctx.record
    if r is not None:
        fields.update(org=r.org_id, model=r.model_used or r.model_requested, provider=r.provider,
                      prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                      cost_usd=str(r.cost_usd), attempts=r.attempts)
    access_line(**fields)


class _Content:
    """The request's messages and the answer's text, for spans that may carry content."""

    def __init__(self) -> None:
        self.request = bytearray()
        self.body = bytearray()

    def wrap_receive(self, receive: Any) -> Any:
        async def wrapped() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request" and len(self.request) < 4 * MAX_CONTENT_CHARS:
                self.request += message.get("body", b"")
            return message

        return wrapped

    def response(self, chunk: bytes) -> None:
        if len(self.body) < 4 * MAX_CONTENT_CHARS:
            self.body += chunk

    def annotate(self, span: Any) -> None:
        try:
            body = orjson.loads(self.request)
        except orjson.JSONDecodeError:
            return
        if not isinstance(body, dict):
            return
        sent = body.get("messages", body.get("prompt", body.get("input")))
        if sent is not None:
            span.set_attribute("gen_ai.input.messages", orjson.dumps(sent).decode()[:MAX_CONTENT_CHARS])
        answer = _answer_text(bytes(self.body))
        if answer:
            output = [{"role": "assistant", "content": answer}]
            span.set_attribute("gen_ai.output.messages", orjson.dumps(output).decode()[:MAX_CONTENT_CHARS])


def _answer_text(body: bytes) -> str:
    """The answer's text from a JSON response or an SSE stream of chunks."""
    docs: list[Any] = []
    if body.startswith(b"data:") or b"\ndata:" in body[:200]:
        for line in body.split(b"\n"):
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                try:
                    docs.append(orjson.loads(line[6:]))
                except orjson.JSONDecodeError:
                    continue
    else:
        try:
            docs.append(orjson.loads(body))
        except orjson.JSONDecodeError:
            return ""
    parts: list[str] = []
    for doc in docs:
        for choice in (doc.get("choices") or []) if isinstance(doc, dict) else []:
            if not isinstance(choice, dict):
                continue
            piece = choice.get("message") or choice.get("delta") or {}
            text = piece.get("content") if isinstance(piece, dict) else None
            if text is None:
                text = choice.get("text")
            if isinstance(text, str):
                parts.append(text)
    return "".join(parts)
