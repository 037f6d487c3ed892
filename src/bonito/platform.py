"""The whole server as one ASGI app: gateway (/v1, /health), control plane (/api), dashboard (/).

Owns the lifecycle: open the store, build the first snapshot, start the usage
writer and the config watcher; on shutdown flush usage and close pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bonito.alerts.service import AlertService
from bonito.cache.runtime import ResponseCache
from bonito.config.settings import Settings
from bonito.control.notices import VersionNotices
from bonito.gateway.app import Gateway, request_id
from bonito.gateway.errors import GatewayError, not_found_path
from bonito.gateway.file_source import ConfigFileSource
from bonito.gateway.http import send_error
from bonito.lifecycle import lifespan, tune_gc
from bonito.limits.base import Budget, to_pico
from bonito.limits.periods import period_start
from bonito.limits.runtime import LimitsRuntime
from bonito.observability.telemetry import Telemetry
from bonito.snapshot import Overlay, Snapshot, empty_snapshot
from bonito.store.db import make_engine, migrate
from bonito.store.usage import insert_usage, spent_since
from bonito.usage.record import UsageRecord
from bonito.usage.sink import DatabaseSink

log = logging.getLogger("bonito")


class Platform:
    """Composition root; `__call__` is the ASGI entry point."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: AsyncEngine = make_engine(settings.effective_database_url)
        # SQLite: the usage writer waits briefly for a lock held elsewhere, then spools and retries later;
        # a long wait would pin a thread the process cannot exit past (PostgreSQL shares the one pool)
        self.usage_engine: AsyncEngine = (
            make_engine(settings.effective_database_url, busy_timeout_s=2.0)
            if self.engine.dialect.name == "sqlite" else self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._migrated = os.environ.get("BONITO_MIGRATED") == "1"
        self.sink = DatabaseSink(self._insert, settings.data_dir / "spool")
        self.source = ConfigFileSource(settings.config_file) if settings.config_file else None
        first = self.source.load() if self.source else empty_snapshot()
        self.alerts = AlertService(self.engine, lambda: self.snapshot, secrets=self._secrets)
        self.limits = LimitsRuntime(first, settings.redis_url, on_crossing=self.alerts.budget_crossed,
                                    recorded_spend=self._recorded_spend)
        self.governance: Any = None  # config mode: the database source of the overlay alone
        self.notices = VersionNotices(settings.redis_url or first.redis_url, self.engine.url)
        self.telemetry = Telemetry(metrics_token=settings.metrics_token)
        self.gateway = Gateway(first, self.sink, limiter=self.limits.governor, ready_check=self.ready,
                               telemetry=self.telemetry, cache=ResponseCache(settings.redis_url))
        # Full mode needs the control plane to serve at all (it compiles the snapshot); with a
        # config file it is built after start so the gateway is healthy sooner.
        self.control_plane: Any = None if self.source else _control_plane(self)
        self._control_ready = asyncio.Event()
        self._migrate_lock = asyncio.Lock()
        self.web: Any = _web_app()
        self._tasks: list[asyncio.Task[None]] = []
        self._observed = self.telemetry.wrap(self._route)  # spans and log lines, where either is on

    # -- wiring -----------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        return self.gateway.snapshot

    def swap(self, snap: Snapshot) -> None:
        """Atomically serve a new snapshot; close provider pools it no longer uses."""
        old = self.gateway.snapshot
        self.gateway.snapshot = snap
        self.limits.follow(snap)
        kept = {id(p) for p in snap.providers.values()}
        stale = [p for p in old.providers.values() if id(p) not in kept]
        if stale:
            # let in-flight requests on the old providers finish first
            self._tasks.append(asyncio.create_task(_close_later(stale, 60.0)))

    def govern(self, overlay: Overlay) -> None:
        """Limits and budgets set through the API, from the database source."""
        self.limits.use_overlay(overlay)

    async def _recorded_spend(self, budget: Budget) -> int:
        """Picodollars the usage store holds for a budget's period (seeds the limiter)."""
        since = period_start(budget.period, datetime.fromtimestamp(budget.period_end - 1, UTC))
        async with self._sessions() as session:
            total = await spent_since(session, budget.scope, budget.owner, since, budget.tag)
        return to_pico(total) if total else 0

    def _secrets(self) -> Any:
        if self.control_plane is None:
            raise RuntimeError("the control plane is still starting")
        return self.control_plane.ctx.secrets

    async def _ensure_migrated(self) -> None:
        async with self._migrate_lock:
            if not self._migrated:
                await migrate(self.engine)
                self._migrated = True

    async def _insert(self, records: Sequence[UsageRecord]) -> None:
        await self._ensure_migrated()
        await insert_usage(self.usage_engine, records)

    async def ready(self) -> tuple[bool, dict[str, str]]:
        (redis_ok, redis), db = await asyncio.gather(self.limits.ready(self.snapshot), self._database_state())
        # the gateway serves from its snapshot while the database is down; Redis matters
        # only where limits fail closed without it
        return redis_ok, {"database": db, **redis}

    async def _database_state(self) -> str:
        try:
            async with asyncio.timeout(2.0):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:
            return "down"
        return "ok"

    # -- ASGI -------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._observed is not None and scope["type"] == "http":
            await self._observed(scope, receive, send)
        else:
            await self._route(scope, receive, send)

    async def _route(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith("/v1/") or path == "/v1" or path.startswith("/health") or path == "/metrics":
            await self.gateway(scope, receive, send)
            return
        if kind != "http":
            return
        send = _with_request_id(scope, send)
        if path.startswith("/api"):
            await self._api(scope, receive, send)
        elif self.web is not None:
            await self.web(scope, receive, send)
        else:
            await send_error(send, not_found_path(path), [])

    async def _api(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not self._control_ready.is_set():
            try:
                await asyncio.wait_for(self._control_ready.wait(), 30)
            except TimeoutError:
                err = GatewayError(503, "The control plane is still starting; retry shortly.",
                                   type="service_unavailable", code="starting")
                from bonito.control.middleware import API_HEADERS  # light: no FastAPI import

                await send_error(send, err, [(b"retry-after", b"2"), *API_HEADERS])
                return
        await self.control_plane.app(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        await lifespan(receive, send, self.startup, self.shutdown, log)

    async def startup(self) -> None:
        if self.source is None:
            await self._migrate_at_start()
            await self._start_control()
        else:
            self._tasks.append(asyncio.create_task(self._start_control_later(), name="bonito-control-start"))
            await self._follow_governance()
        await self.sink.start()
        await self.limits.start(lambda: self.snapshot)
        await self.alerts.start()
        await self.telemetry.start(self._sample_metrics, self.ready)
        tune_gc()
        if self.source is not None:
            self._tasks.append(asyncio.create_task(self.source.watch(self)))
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.source.request_reload)

    async def _follow_governance(self) -> None:
        """Config mode: limits and budgets set through the API still come from the database."""
        from bonito.control.snapshot import DatabaseSource

        self.governance = DatabaseSource(self.engine, None, notices=self.notices, poll_s=self.settings.config_poll_s,
                                         fallback_poll_s=self.settings.config_fallback_poll_s)
        try:
            await asyncio.wait_for(self.governance.refresh(self), 5)
        except Exception as exc:
            log.warning("governance settings not loaded at start (%s); retrying", type(exc).__name__)
        self._tasks.append(asyncio.create_task(self.governance.watch(self), name="bonito-governance"))

    def _sample_metrics(self) -> None:
        self.telemetry.metrics.sample(buffered=self.sink.buffered, snapshot_version=self.snapshot.version,
                                      spool_dir=self.settings.data_dir / "spool")

    async def _migrate_at_start(self) -> None:
        try:
            await asyncio.wait_for(self._ensure_migrated(), 10)
        except Exception as exc:
            log.warning("database unavailable at start (%s); serving, usage will be written later",
                        type(exc).__name__)

    async def _start_control(self) -> None:
        await self.control_plane.start()
        self._control_ready.set()

    async def _start_control_later(self) -> None:
        """Config mode: migrate and build /api beside a gateway that already serves."""
        await self._migrate_at_start()
        module = await asyncio.to_thread(importlib.import_module, "bonito.control.plane")
        self.control_plane = _control_plane(self, module)
        await self._start_control()

    async def shutdown(self) -> None:
        if self.control_plane is not None:
            await self.control_plane.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.sink.close(timeout_s=5.0)
        for p in self.snapshot.providers.values():
            with contextlib.suppress(Exception):
                await p.aclose()
        await self.alerts.close()
        await self.limits.aclose()
        await self.notices.aclose()
        await self.gateway.cache.aclose()
        await self.gateway.router.aclose()
        for engine in {id(e): e for e in (self.usage_engine, self.engine)}.values():
            try:
                await asyncio.wait_for(engine.dispose(), 5.0)
            except Exception as exc:  # a hung store must not hold the exit (TimeoutError included)
                log.warning("closing the database pool: %s", type(exc).__name__)
        await self.telemetry.close()


def _with_request_id(scope: dict[str, Any], send: Any) -> Any:
    """Make every /api and dashboard response carry x-request-id (the client's, if sent)."""
    rid = request_id(scope).encode()

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"x-request-id" for k, _ in headers):
                headers.append((b"x-request-id", rid))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _control_plane(platform: Platform, module: Any = None) -> Any:
    """The control plane (/api); in full mode it also feeds the gateway its snapshot from the database."""
    module = module or importlib.import_module("bonito.control.plane")
    return module.ControlPlane(platform.settings, platform.engine, platform, router=lambda: platform.gateway.router,
                               notify=platform.alerts.submit, notices=platform.notices)


def _web_app() -> Any:
    """The dashboard (imported here so the gateway's import graph stays lean)."""
    from bonito.web.app import create_web_app

    return create_web_app()


async def _close_later(providers: list[Any], delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    for p in providers:
        with contextlib.suppress(Exception):
            await p.aclose()


def create_app() -> Platform:
    """Factory for uvicorn (`bonito.platform:create_app`), configured from the environment."""
    settings = Settings.from_env()
    logging.basicConfig(level=os.environ.get("BONITO_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return Platform(settings)


__all__ = ["Path", "Platform", "create_app"]
