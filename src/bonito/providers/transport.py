"""A thin pooled HTTP transport shared by the provider adapters.

One `aiohttp.ClientSession` per provider instance (so one connection pool per
upstream host); network failures become `UpstreamError`s with kind "connect"
or "timeout" so the gateway can tell them from answers.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
from yarl import URL

from bonito.providers.base import UpstreamError


class HttpTransport:
    """Pooled keep-alive HTTP client; created lazily inside the running loop."""

    def __init__(self, *, limit: int = 256, connect_timeout_s: float = 10.0) -> None:
        self._limit = limit
        self._connect_timeout_s = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                # an upstream's cookies must never ride along on another client's request
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
                json_serialize=lambda o: orjson.dumps(o).decode(),
            )
        return self._session

    def _whole(self, timeout_s: float) -> aiohttp.ClientTimeout:
        # aiohttp's own timer only: a second asyncio timeout per call costs measurable CPU
        return _timeout(timeout_s, min(self._connect_timeout_s, timeout_s))

    def _streaming(self, timeout_s: float) -> aiohttp.ClientTimeout:
        # no total for a stream: it may run long; each read (and the headers) must come within timeout_s
        return aiohttp.ClientTimeout(total=None, connect=min(self._connect_timeout_s, timeout_s),
                                     sock_read=timeout_s)

    async def request(
        self,
        method: str,
        url: str | URL,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 600.0,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One whole request/response; returns (status, headers, body)."""
        try:
            async with self.session.request(method, url, data=data, headers=headers,
                                            timeout=self._whole(timeout_s)) as resp:
                body = await resp.read()
                return resp.status, resp.headers, body
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one too
            raise UpstreamError(504, f"upstream timed out after {timeout_s:g}s", kind="timeout",
                                type="timeout") from exc
        except aiohttp.ClientError as exc:
            raise connect_error(exc) from exc

    @asynccontextmanager
    async def open_stream(
        self,
        method: str,
        url: str | URL,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 600.0,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a streaming response; the caller reads `resp.content` and checks `resp.status`.

        Every read from `resp.content` raises a TimeoutError after `timeout_s` without data."""
        try:
            resp = await self.session.request(method, url, data=data, headers=headers,
                                              timeout=self._streaming(timeout_s))
        except TimeoutError as exc:
            raise UpstreamError(504, f"upstream timed out after {timeout_s:g}s", kind="timeout",
                                type="timeout") from exc
        except aiohttp.ClientError as exc:
            raise connect_error(exc) from exc
        try:
            yield resp
        except BaseException:
            # cancelled (client gone) or failed mid-body: drop the connection so the
            # upstream stops generating; a half-read response cannot be reused anyway
            resp.close()
            raise
        else:
            resp.release()

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


@functools.lru_cache(maxsize=256)
def _timeout(total: float, connect: float) -> aiohttp.ClientTimeout:
    """ClientTimeout is immutable: the few configured values are built once."""
    return aiohttp.ClientTimeout(total=total, connect=connect)


def connect_error(exc: BaseException) -> UpstreamError:
    """Map a network-level failure to a 502 UpstreamError without leaking internals."""
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return UpstreamError(504, "upstream timed out", kind="timeout", type="timeout")
    name = type(exc).__name__
    return UpstreamError(502, f"could not reach the upstream ({name})", kind="connect", type="upstream_error")


async def iter_sse_data(resp: aiohttp.ClientResponse, timeout_s: float) -> AsyncIterator[bytes]:
    """Yield the `data:` payload of each SSE event as it arrives (bytes, without the prefix).

    Multi-line data fields are joined with newlines, per the SSE spec. `event:`
    names are ignored here; see `iter_sse_events` for adapters that need them.
    """
    async for _event, data in iter_sse_events(resp, timeout_s):
        yield data


async def iter_sse_events(resp: aiohttp.ClientResponse, timeout_s: float) -> AsyncIterator[tuple[str, bytes]]:
    """Yield (event name, data) per SSE event as it arrives; event is "" when unnamed."""
    event = ""
    data: list[bytes] = []
    content = resp.content
    while True:
        try:
            line = await content.readline()  # the stream's sock_read timeout bounds each wait
        except TimeoutError as exc:
            raise UpstreamError(504, f"upstream stream stalled for {timeout_s:g}s", kind="timeout",
                                type="timeout") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(502, "upstream stream broke", kind="stream") from exc
        if not line:
            if data:
                yield event, b"\n".join(data)
            return
        line = line.rstrip(b"\r\n")
        if not line:
            if data:
                yield event, b"\n".join(data)
            event, data = "", []
            continue
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            event = line[6:].strip().decode()
        # comments (":") and other fields (id, retry) are ignored


def json_or_none(body: bytes) -> Any:
    """Parse a JSON body, or None when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def json_object(body: bytes) -> dict[str, Any]:
    """A whole JSON object answer; anything else is a protocol error (502)."""
    parsed = json_or_none(body)
    if not isinstance(parsed, dict):
        raise UpstreamError(502, "upstream answered with a body that is not JSON", kind="protocol")
    return parsed
