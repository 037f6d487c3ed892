"""A small HTTP transport on the standard library's http.client.

The CLI must start fast (`bonito whoami` under 0.3 s): importing httpx costs ~0.12 s of CPU, most
of it its own command line pulling in click, rich and pygments; http.client costs ~0.03 s and
streams chunked answers line by line as they arrive, which is all the CLI needs.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterator, Mapping
from email.message import Message
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from typing import Any
from urllib.parse import urlencode, urlsplit


class TransportError(Exception):
    """The server could not be reached, or the connection broke."""


class Response:
    def __init__(self, status: int, reason: str, headers: Message, content: bytes) -> None:
        self.status_code, self.reason_phrase, self.headers, self.content = status, reason, headers, content

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class StreamingResponse:
    """A response whose body is read as it arrives."""

    def __init__(self, raw: HTTPResponse) -> None:
        self.raw = raw
        self.status_code, self.reason_phrase, self.headers = raw.status, raw.reason, raw.headers

    def read(self) -> Response:
        return Response(self.status_code, self.reason_phrase, self.headers, self._guard(self.raw.read))

    def iter_lines(self) -> Iterator[str]:
        while True:
            raw = self._guard(self.raw.readline)
            if not raw:
                return
            yield raw.decode("utf-8", "replace").rstrip("\r\n")

    def iter_bytes(self, size: int = 65536) -> Iterator[bytes]:
        while True:
            chunk = self._guard(lambda: self.raw.read1(size))
            if not chunk:
                return
            yield chunk

    @staticmethod
    def _guard(read: Any) -> bytes:
        try:
            data: bytes = read()
            return data
        except (OSError, HTTPException) as exc:
            raise TransportError(str(exc) or type(exc).__name__) from None


class Client:
    """Requests to one server (`base_url`); each call opens its own connection."""

    def __init__(self, base_url: str, *, timeout: float, headers: Mapping[str, str]) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"{base_url!r} is not an http(s) URL")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers)
        self.proxy = _proxy_for(parts.scheme, parts.hostname)

    def _connect(self, timeout: float) -> tuple[HTTPConnection, str]:
        """A connection, and the prefix a request target takes on it (absolute through an http proxy)."""
        conn_cls = HTTPSConnection if self.scheme == "https" else HTTPConnection
        if self.proxy is None:
            return conn_cls(self.host, self.port, timeout=timeout), ""
        proxy = urlsplit(self.proxy)
        if self.scheme == "https":  # a CONNECT tunnel: the proxy sees only the host
            conn = conn_cls(proxy.hostname or "", proxy.port, timeout=timeout)
            conn.set_tunnel(self.host, self.port)
            return conn, ""
        port = f":{self.port}" if self.port else ""
        return HTTPConnection(proxy.hostname or "", proxy.port, timeout=timeout), f"http://{self.host}{port}"

    def _send(self, method: str, path: str, params: Mapping[str, Any] | None, json: Any,
              headers: Mapping[str, str] | None, timeout: float) -> HTTPResponse:
        conn, origin = self._connect(timeout)
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        body = None if json is None else jsonlib.dumps(json).encode()
        hdrs = {**self.headers, **(headers or {})}
        if body is not None:
            hdrs["content-type"] = "application/json"
        try:
            conn.request(method, origin + self.prefix + path + (f"?{query}" if query else ""), body=body,
                         headers=hdrs)
            return conn.getresponse()
        except (OSError, HTTPException) as exc:
            conn.close()
            raise TransportError(_reason(exc)) from None

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                headers: Mapping[str, str] | None = None, timeout: float | None = None) -> Response:
        raw = self._send(method, path, params, json, headers, timeout or self.timeout)
        try:
            return StreamingResponse(raw).read()
        finally:
            raw.close()

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.request("POST", path, **kw)

    def stream(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
               headers: Mapping[str, str] | None = None, idle_timeout: float = 600.0) -> StreamingResponse:
        """A response to read as it arrives; a long pause between chunks is fine. Close `.raw` when done."""
        return StreamingResponse(self._send(method, path, params, json, headers, idle_timeout))


def _proxy_for(scheme: str, host: str) -> str | None:
    """HTTP(S)_PROXY / NO_PROXY from the environment, as curl and pip read them (CI runners use them)."""
    import os

    if not any(k.lower() in ("http_proxy", "https_proxy", "all_proxy") for k in os.environ):
        return None  # the usual case: no need to import urllib.request
    from urllib.request import getproxies, proxy_bypass

    proxy = getproxies().get(scheme)
    return None if not proxy or proxy_bypass(host) else proxy


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)
