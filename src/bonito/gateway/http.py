"""Raw ASGI helpers: read a bounded body, send JSON, send errors."""

from __future__ import annotations

from typing import Any

import orjson

from bonito.gateway.errors import GatewayError, body_too_large

Scope = dict[str, Any]
Message = dict[str, Any]
Headers = list[tuple[bytes, bytes]]

JSON_CT = (b"content-type", b"application/json")
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def header(scope: Scope, name: bytes) -> bytes | None:
    """First value of a request header (names are lower-case in ASGI)."""
    for k, v in scope["headers"]:
        if k == name:
            return v  # type: ignore[no-any-return]
    return None


async def read_body(scope: Scope, receive: Any, limit: int) -> bytes:
    """The whole request body, refusing with 413 past `limit` bytes."""
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientGone()
        body = msg.get("body", b"")
        if body:
            size += len(body)
            if size > limit:
                raise body_too_large(limit)
            chunks.append(body)
        if not msg.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class ClientGone(Exception):
    """The client disconnected before the request was complete."""


async def send_bytes(send: Any, status: int, body: bytes, headers: Headers) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Any, status: int, obj: Any, headers: Headers) -> None:
    await send_bytes(send, status, orjson.dumps(obj), [JSON_CT, *headers])


async def send_error(send: Any, err: GatewayError, headers: Headers) -> None:
    await send_bytes(send, err.status, err.body(), [JSON_CT, *headers, *err.headers])
