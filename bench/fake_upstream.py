"""A fast fake OpenAI-compatible upstream for the benchmark.

It is a bare asyncio protocol on uvloop with httptools parsing (no framework),
so that it spends as little of the machine's CPU as possible and the numbers
measure the gateway in front of it, not the fake.

Endpoints:
- ``POST /v1/chat/completions``: a fixed completion; with ``"stream": true``
  an SSE stream of a few chunks, a usage chunk when
  ``stream_options.include_usage`` is set, then ``data: [DONE]``.
- ``GET /health``: 200.
- ``GET /v1/models``: one model.
- ``GET /__stats``: counters (requests served, unauthorized ones), so the
  bench can check that every answered request really reached the upstream.

A request whose ``Authorization`` is not ``Bearer <--api-key>`` gets 401:
that catches a gateway that would forward the client's key.

Run: ``python bench/fake_upstream.py --port 9001 [--latency-ms 0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any, cast

import httptools
import orjson
import uvloop

_OK_JSON = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
_OK_SSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
_CONTENT_PIECES = ("Hello", " from", " the", " fake", " upstream.")
_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}


class Stats:
    """Counters shared by all connections of the server."""

    def __init__(self) -> None:
        self.requests = 0
        self.unauthorized = 0


def _json_response(status: int, payload: Any) -> bytes:
    body = orjson.dumps(payload)
    reason = {200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 404: b"Not Found"}[status]
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % (
        status,
        reason,
        len(body),
    )
    return head + body


def _error(status: int, message: str) -> bytes:
    return _json_response(status, {"error": {"message": message, "type": "invalid_request_error"}})


def _completion(model: str) -> bytes:
    body = orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(_CONTENT_PIECES)},
                    "finish_reason": "stop",
                }
            ],
            "usage": _USAGE,
        }
    )
    return _OK_JSON % len(body) + body


def _sse_chunks(model: str, include_usage: bool) -> list[bytes]:
    """The stream as HTTP chunks, each carrying one SSE event."""
    created = int(time.time())
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": created, "model": model}
    events: list[dict[str, Any]] = [
        {
            **base,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
    ]
    for piece in _CONTENT_PIECES:
        events.append({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if include_usage:
        events.append({**base, "choices": [], "usage": _USAGE})
    payloads = [b"data: " + orjson.dumps(e) + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]
    return [b"%x\r\n%s\r\n" % (len(p), p) for p in payloads] + [b"0\r\n\r\n"]


class UpstreamProtocol(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection; clients are assumed not to pipeline."""

    def __init__(self, stats: Stats, api_key: bytes, latency_s: float, chunk_delay_s: float) -> None:
        self._stats = stats
        self._auth = b"Bearer " + api_key
        self._latency_s = latency_s
        self._chunk_delay_s = chunk_delay_s
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []
        self._authorization = b""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._write(_error(400, "malformed HTTP request"))
            if self._transport is not None:
                self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._body = []
        self._authorization = b""

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"authorization":
            self._authorization = value

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self._parser.get_method()
        path = self._url.split(b"?", 1)[0]
        if method == b"GET":
            self._handle_get(path)
        elif method == b"POST" and path == b"/v1/chat/completions":
            self._handle_chat(b"".join(self._body))
        else:
            self._write(_error(404, "not found"))

    def _handle_get(self, path: bytes) -> None:
        if path == b"/health":
            self._write(_json_response(200, {"status": "ok"}))
        elif path == b"/__stats":
            stats = {"requests": self._stats.requests, "unauthorized": self._stats.unauthorized}
            self._write(_json_response(200, stats))
        elif path == b"/v1/models":
            model = {"id": "bench-model", "object": "model", "created": 0, "owned_by": "bench"}
            self._write(_json_response(200, {"object": "list", "data": [model]}))
        else:
            self._write(_error(404, "not found"))

    def _handle_chat(self, raw: bytes) -> None:
        self._stats.requests += 1
        if self._authorization != self._auth:
            self._stats.unauthorized += 1
            self._write(_error(401, "wrong upstream api key"))
            return
        try:
            req = orjson.loads(raw)
            model = str(req.get("model", "bench-model"))
        except (orjson.JSONDecodeError, AttributeError):
            self._write(_error(400, "body is not a JSON object"))
            return
        if req.get("stream"):
            include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
            chunks = _sse_chunks(model, include_usage)
            if self._latency_s or self._chunk_delay_s:
                asyncio.get_running_loop().create_task(self._send_later([_OK_SSE], chunks))
            else:
                self._write(_OK_SSE + chunks[0])
                for chunk in chunks[1:]:
                    self._write(chunk)
        elif self._latency_s:
            asyncio.get_running_loop().create_task(self._send_later([_completion(model)], []))
        else:
            self._write(_completion(model))

    async def _send_later(self, head: list[bytes], chunks: list[bytes]) -> None:
        await asyncio.sleep(self._latency_s)
        for part in head:
            self._write(part)
        for chunk in chunks:
            if self._chunk_delay_s:
                await asyncio.sleep(self._chunk_delay_s)
            self._write(chunk)

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)


async def serve(host: str, port: int, api_key: str, latency_ms: float, chunk_delay_ms: float) -> None:
    """Serve until cancelled."""
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: UpstreamProtocol(stats, api_key.encode(), latency_ms / 1000, chunk_delay_ms / 1000),
        host,
        port,
        backlog=4096,
        reuse_address=True,
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse arguments and serve on uvloop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", default="upstream-key")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each answer")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay between SSE chunks")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.host, args.port, args.api_key, args.latency_ms, args.chunk_delay_ms))


if __name__ == "__main__":
    main()
