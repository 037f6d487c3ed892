"""One object per server process for metrics, traces and per-request log lines.

The gateway calls `record(usage_record)` once per request; `wrap(app)` puts
the span and log-line wrapper around the whole server where either is on;
`serve_metrics` answers `GET /metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from bonito.observability.asgi import ASGIApp, RequestObserver
from bonito.observability.context import current_request
from bonito.observability.logs import ACCESS_LOGGER
from bonito.observability.metrics import Metrics
from bonito.observability.tracing import Tracing, tracing_configured
from bonito.usage.record import UsageRecord

log = logging.getLogger("bonito.observability")

Sample = Callable[[], None]
StoreStates = Callable[[], Awaitable[tuple[bool, Mapping[str, str]]]]
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
SAMPLE_EVERY_S = 1.0
TRACE_FLUSH_S = 5.0


class Telemetry:
    def __init__(self, *, metrics_token: str | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.metrics = Metrics()
        self.tracing: Tracing | None = Tracing(environ) if tracing_configured(environ) else None
        self.access_log = logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO)
        self._follow = self.tracing is not None or self.access_log  # the wrapper wants each record
        self._token = metrics_token.encode() if metrics_token else None
        self._sample: Sample | None = None
        self._stores: StoreStates | None = None
        self._task: asyncio.Task[None] | None = None

    # -- the request path ---------------------------------------------------
    def record(self, r: UsageRecord) -> None:
        """A gateway request is over: count it, and hand its record to the span and log line. Never raises
        (the gateway calls it while finishing a request: limits still have to be settled after it)."""
        try:
            self.metrics.observe(r)
        except Exception:
            log.exception("could not count request %s in the metrics", r.request_id)
        if self._follow:
            ctx = current_request.get()
            if ctx is not None:
                ctx.record = r

    def wrap(self, app: ASGIApp) -> ASGIApp | None:
        """The server wrapped for spans and log lines, or None when neither is on."""
        if self.tracing is None and not self.access_log:
            return None
        return RequestObserver(app, self.tracing, self.access_log)

    # -- lifecycle ------------------------------------------------------------
    async def start(self, sample: Sample, stores: StoreStates | None = None) -> None:
        """`sample` sets this process's gauges (every second); `stores` reports the stores' states
        (asked at each scrape)."""
        self._sample, self._stores = sample, stores
        sample()
        self._task = asyncio.create_task(self._sample_forever(), name="bonito-metrics-sampler")

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            try:
                if self._sample is not None:
                    self._sample()
            except Exception:
                log.exception("sampling metrics failed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.metrics.close()
        if self.tracing is not None:
            # flush pending spans, but an unreachable collector must not hold the 30 s stop: a daemon
            # thread (the default executor would be waited for at exit), given a few seconds
            done = threading.Thread(target=self.tracing.shutdown, name="bonito-trace-flush", daemon=True)
            done.start()
            await asyncio.to_thread(done.join, TRACE_FLUSH_S)

    # -- GET /metrics ---------------------------------------------------------
    async def serve_metrics(self, scope: Mapping[str, Any], send: Any, base: list[tuple[bytes, bytes]]) -> None:
        if self._token is not None and not self._authorized(scope):
            body = orjson.dumps({"error": {"message": "Metrics need the Bearer token set in BONITO_METRICS_TOKEN.",
                                           "type": "authentication_error", "param": None,
                                           "code": "invalid_metrics_token"}})
            await _send(send, 401, body, [(b"content-type", b"application/json"),
                                          (b"www-authenticate", b'Bearer realm="metrics"'), *base])
            return
        if self._sample is not None:
            self._sample()
        if self._stores is not None:
            with contextlib.suppress(Exception):
                _, states = await self._stores()
                self.metrics.stores(states)
        body = await asyncio.to_thread(self.metrics.render) if self.metrics.shared_dir else self.metrics.render()
        await _send(send, 200, body, [(b"content-type", CONTENT_TYPE), *base])

    def _authorized(self, scope: Mapping[str, Any]) -> bool:
        assert self._token is not None
        for k, v in scope.get("headers", ()):
            if k == b"authorization":
                scheme, _, value = v.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), self._token)
        return False


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
