"""Heartbeats: every interval the agent tells the control plane it is alive and how it is doing
(never a prompt, a completion or a credential: counters, provider health, spool depth)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bonito import __version__
from bonito.agent.reporter import AgentReporter
from bonito.agent.source import ControlPlaneSource
from bonito.limits.base import BudgetCrossing
from bonito.snapshot import Snapshot

log = logging.getLogger("bonito.agent")
HEALTH_TIMEOUT_S = 5.0
MAX_CROSSINGS = 1_000  # budget crossings waiting for delivery (the control plane alerts on them)


class Heartbeat:
    def __init__(self, url: str, token: Callable[[], str | None], agent_id: str, *, source: ControlPlaneSource,
                 reporter: AgentReporter, snapshot: Callable[[], Snapshot], interval_s: float,
                 http: Callable[[], aiohttp.ClientSession]) -> None:
        self._url = url.rstrip("/") + "/api/agent/heartbeat"
        self._token = token
        self.agent_id = agent_id
        self._source = source
        self._reporter = reporter
        self._snapshot = snapshot
        self.interval_s = interval_s
        self._http = http
        self._started = time.monotonic()
        self.hostname = socket.gethostname()
        self._crossings: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self.failures = 0  # heartbeats not delivered since start (GET /metrics)
        self.delivered_at: float | None = None  # wall time of the last one delivered

    def crossed(self, c: BudgetCrossing) -> None:
        """The limiter's listener: a budget threshold passed here; the control plane sends the alert."""
        b = c.budget
        if len(self._crossings) < MAX_CROSSINGS:
            self._crossings.append({"scope": b.scope, "owner": b.owner, "name": b.name, "period": b.period,
                                    "period_id": b.period_id, "cap_pico": b.cap_pico, "hard": b.hard,
                                    "threshold": c.threshold, "spend_pico": c.spend_pico})
        self._wake.set()  # alerts should not wait for the next interval

    async def payload(self) -> dict[str, Any]:
        snap = self._snapshot()
        names = self._source.current.provider_names if self._source.current else {}
        health = await asyncio.gather(*(_health(p) for p in snap.providers.values()))
        problems = list(self._source.current.problems) if self._source.current else []
        error = "; ".join([e for e in [self._source.error, *problems] if e]) or None
        return {
            "agent_id": self.agent_id, "hostname": self.hostname, "version": __version__,
            "uptime_s": round(time.monotonic() - self._started, 1),
            "requests": self._reporter.requests, "errors": self._reporter.errors,
            "providers": {names.get(pid, pid): state for pid, state in zip(snap.providers, health, strict=True)},
            "spool_depth": self._reporter.depth, "spool_full": self._reporter.spool.full,
            "config_version": self._source.current_version, "config_error": error[:2000] if error else None,
            "budget_crossings": list(self._crossings),
        }

    async def beat(self) -> None:
        body = await self.payload()
        headers = {"Authorization": f"Bearer {self._token() or ''}"}
        async with self._http().post(self._url, json=body, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=15)) as resp:
            if resp.status != 200:
                raise RuntimeError(f"the control plane answered {resp.status}")
        del self._crossings[:len(body["budget_crossings"])]  # delivered; newer ones wait for the next beat

    async def run(self) -> None:
        failing = False
        while True:
            try:
                await self.beat()
                failing, self.delivered_at = False, time.time()
            except Exception as exc:
                self.failures += 1
                if not failing:
                    log.warning("heartbeat not delivered (%s)", str(exc) or type(exc).__name__)
                failing = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()


async def _health(provider: Any) -> str:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            return "ok" if await provider.health() else "down"
    return "down"
