"""The agent as one ASGI app: the gateway `bonito serve` runs (/v1, /health, /metrics), fed by the
control-plane pull and writing to the spooling reporter. No database, no /api, no dashboard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bonito.agent.heartbeat import Heartbeat
from bonito.agent.metrics import AgentCollector, ConfigState
from bonito.agent.reporter import AgentReporter
from bonito.agent.source import ControlPlaneSource
from bonito.agent.state import StateDir
from bonito.agent.token import OrgToken
from bonito.cache.runtime import ResponseCache
from bonito.config.schema import BonitoConfig
from bonito.gateway.app import Gateway
from bonito.lifecycle import lifespan, tune_gc
from bonito.limits.periods import period_id
from bonito.limits.policy import all_budgets
from bonito.limits.runtime import LimitsRuntime
from bonito.observability.telemetry import Telemetry
from bonito.snapshot import Overlay, Snapshot, empty_snapshot
from bonito.usage.spool import DiskSpool

log = logging.getLogger("bonito.agent")
SOURCE = "vpc_agent"
START_PULL_S = 5.0  # without a cached config, how long the first pull may hold the start


class AgentApp:
    def __init__(self, *, control_plane: str, token: OrgToken, state: StateDir, local: BonitoConfig,
                 sync_interval_s: float, heartbeat_interval_s: float, redis_url: str | None = None,
                 metrics_token: str | None = None) -> None:
        self.state = state
        self._http: aiohttp.ClientSession | None = None
        self.source = ControlPlaneSource(control_plane, token, state, local, interval_s=sync_interval_s,
                                         http=self.http)
        self.reporter = AgentReporter(DiskSpool(state.spool_dir), control_plane, token,
                                      send_every_s=min(10.0, sync_interval_s), http=self.http)
        self.heartbeat = Heartbeat(control_plane, token, state.agent_id(), source=self.source,
                                   reporter=self.reporter, snapshot=lambda: self.gateway.snapshot,
                                   interval_s=heartbeat_interval_s, http=self.http)
        first = empty_snapshot()
        self.limits = LimitsRuntime(first, local.redis_url or redis_url, on_crossing=self.heartbeat.crossed)
        self.telemetry = Telemetry(metrics_token=metrics_token)  # GET /metrics, traces, per-request lines
        self.gateway = Gateway(first, self.reporter, limiter=self.limits.governor, ready_check=self.ready,
                               source=SOURCE, telemetry=self.telemetry,
                               cache=ResponseCache(local.redis_url or redis_url))
        self._config_applied_at: float | None = None
        if self.telemetry.metrics.registry is not None:  # the agent runs one process: its own registry
            self.telemetry.metrics.registry.register(AgentCollector(self.reporter, self.heartbeat, ConfigState(
                lambda: self.source.current_version, lambda: self._config_applied_at)))
        self._observed = self.telemetry.wrap(self.gateway)
        self._tasks: list[asyncio.Task[None]] = []

    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            # trust_env: an egress proxy (HTTPS_PROXY, NO_PROXY) and SSL_CERT_FILE apply, as in most VPCs
            self._http = aiohttp.ClientSession(trust_env=True)
        return self._http

    # -- what the control-plane source feeds (a `Serving`) ------------------
    @property
    def snapshot(self) -> Snapshot:
        return self.gateway.snapshot

    def swap(self, snap: Snapshot) -> None:
        """Serve a compiled config; close provider pools it no longer uses."""
        old = self.gateway.snapshot
        self.gateway.snapshot = snap
        self._config_applied_at = time.monotonic()
        self.limits.follow(snap)
        kept = {id(p) for p in snap.providers.values()}
        stale = [p for p in old.providers.values() if id(p) not in kept]
        if stale:
            self._spawn(self._close_later(stale))

    def govern(self, overlay: Overlay) -> None:
        """The pulled limits and budgets, and the spend recorded elsewhere seeded into them."""
        self.limits.use_overlay(overlay)
        self._spawn(self._seed(overlay))

    async def _seed(self, overlay: Overlay) -> None:
        backend = self.limits.governor.backend
        now = self.limits.governor.clock()
        for budget in all_budgets(self.gateway.snapshot, overlay, now):
            pico = overlay.recorded.get((budget.scope, budget.owner, budget.period_id), 0)
            if pico and budget.period_id == period_id(budget.period, datetime.fromtimestamp(now, UTC)):
                with contextlib.suppress(Exception):
                    await backend.seed(budget, pico)

    async def _close_later(self, stale: list[Any]) -> None:
        await asyncio.sleep(60.0)  # in-flight requests on the old providers finish first
        for p in stale:
            with contextlib.suppress(Exception):
                await p.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    async def ready(self) -> tuple[bool, dict[str, str]]:
        redis_ok, redis = await self.limits.ready(self.gateway.snapshot)
        configured = self.source.current is not None
        cp = "ok" if self.source.reachable else "down"
        return redis_ok and configured, {"control_plane": cp, **redis}

    # -- lifecycle --------------------------------------------------------
    async def startup(self) -> None:
        if adopted := await asyncio.to_thread(self.state.adopt_legacy_spool):
            log.info("%d usage records taken over from an earlier agent version's spool", adopted)
        await self.reporter.start()
        cached = self.source.load_cached(self)
        if not cached:
            # nothing to serve yet: give the control plane a moment before answering
            with contextlib.suppress(Exception):
                async with asyncio.timeout(START_PULL_S):
                    await self.source.refresh(self)
                    self.source.reachable = True
        self._spawn(self.source.watch(self))
        self._spawn(self.heartbeat.run())
        await self.telemetry.start(self._sample_metrics, self.ready)
        tune_gc()

    def _sample_metrics(self) -> None:
        self.telemetry.metrics.sample(buffered=self.reporter.buffered, snapshot_version=self.gateway.snapshot.version,
                                      spool_dir=self.state.spool_dir)

    async def shutdown(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.reporter.close(timeout_s=5.0)
        for p in self.gateway.snapshot.providers.values():
            with contextlib.suppress(Exception):
                await p.aclose()
        await self.limits.aclose()
        await self.gateway.router.aclose()
        await self.gateway.cache.aclose()
        if self._http is not None:
            await self._http.close()
        await self.telemetry.close()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self.startup, self.shutdown, log)
        elif self._observed is not None and scope["type"] == "http":
            await self._observed(scope, receive, send)
        else:
            await self.gateway(scope, receive, send)


__all__ = ["AgentApp"]
