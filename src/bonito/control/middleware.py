"""Raw ASGI hardening around the control-plane app: security headers, CORS from an allow-list, and a
request body limit (413). (The platform adds x-request-id.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
# what every /api answer carries, also those sent before the control app is up
API_HEADERS = (*_SECURITY_HEADERS, _HSTS)
_ALLOW_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return bytes(v)
    return None


class Hardening:
    """Wraps the control app. `origins()` and `max_body()` are read per request (config reloads)."""

    def __init__(self, app: Any, origins: Callable[[], tuple[str, ...]], max_body: Callable[[], int]) -> None:
        self.app = app
        self._origins = origins
        self._max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_SECURITY_HEADERS)
        # HSTS always: browsers ignore it over plain HTTP, and behind TLS proxies it must be there
        extra.append(_HSTS)
        origin = _header(scope, b"origin")
        allowed = origin is not None and origin.decode("latin-1") in self._origins()
        if allowed and origin is not None:
            extra += [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                      (b"access-control-expose-headers", b"x-request-id")]
        if scope["method"] == "OPTIONS" and origin is not None and \
                _header(scope, b"access-control-request-method") is not None:
            await self._preflight(scope, send, extra, allowed)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *[(k, v) for k, v in extra if k not in names]]
            await send(message)

        limit = self._max_body()
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send_with_headers, limit)
            return
        body = bytearray()
        more = scope["method"] in ("POST", "PUT", "PATCH", "DELETE")
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await _too_large(send_with_headers, limit)
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)

    async def _preflight(self, scope: dict[str, Any], send: Any, extra: list[tuple[bytes, bytes]],
                         allowed: bool) -> None:
        if not allowed:
            await _respond(send, 400, {"detail": "CORS origin not allowed"}, extra)
            return
        req_headers = _header(scope, b"access-control-request-headers") or b"authorization, content-type"
        headers = [*extra, (b"access-control-allow-methods", _ALLOW_METHODS),
                   (b"access-control-allow-headers", req_headers), (b"access-control-max-age", b"600")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


async def _too_large(send: Any, limit: int) -> None:
    await _respond(send, 413, {"detail": f"request body too large (limit {limit} bytes)"}, [])


async def _respond(send: Any, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> None:
    raw = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": raw})
