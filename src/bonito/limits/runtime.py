"""The limiter across a server's life: follows `redis_url` through reloads, reports readiness."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bonito.limits.backends import backend_for, backend_identity, redacted
from bonito.limits.governor import CrossingListener, Governor
from bonito.limits.policy import all_budgets
from bonito.snapshot import Overlay

if TYPE_CHECKING:
    from bonito.limits.base import Budget, LimitBackend
    from bonito.snapshot import Snapshot

# Picodollars recorded so far in a budget's period (the usage store, read by whoever owns it)
RecordedSpend = Callable[["Budget"], Awaitable[int]]

log = logging.getLogger("bonito.limits")
CLOSE_OLD_AFTER_S = 30.0
SEED_CHECK_S = 0.5  # how soon a new overlay, snapshot or a returning Redis gets its budgets seeded


class LimitsRuntime:
    """Owns the Governor the gateway calls; `fallback_url` is REDIS_URL from the environment.

    It reads no database: the overlay comes from the snapshot's source (`use_overlay`) and the spend
    already recorded from `recorded_spend`, a reader its owner passes in.
    """

    def __init__(self, snap: Snapshot, fallback_url: str | None = None,
                 on_crossing: CrossingListener | None = None, recorded_spend: RecordedSpend | None = None) -> None:
        self.fallback_url = fallback_url
        url, size = self._wanted(snap)
        self.governor = Governor(backend_for(url, size), on_crossing=on_crossing)
        self._recorded_spend = recorded_spend
        self._closing: set[asyncio.Task[None]] = set()
        self._follow: asyncio.Task[None] | None = None
        self._seeded: tuple[object, ...] | None = None

    async def start(self, get_snapshot: Callable[[], Snapshot]) -> None:
        """Seed budgets with recorded spend (before serving, when the store answers quickly), then
        again whenever the overlay, the snapshot or the backend changes, or Redis comes back."""
        if self._recorded_spend is None:
            return
        try:
            await asyncio.wait_for(self._seed(get_snapshot()), 5)
        except Exception as exc:
            log.warning("recorded spend not loaded at start (%s); retrying", type(exc).__name__)
        self._follow = asyncio.create_task(self._keep_seeded(get_snapshot), name="bonito-limits-seed")

    async def _seed(self, snap: Snapshot) -> None:
        backend, overlay = self.governor.backend, self.governor.overlay
        state = (id(overlay), snap.version, id(backend), backend.available)
        if self._recorded_spend is None or not backend.available or state == self._seeded:
            return
        for budget in all_budgets(snap, overlay, self.governor.clock()):
            pico = await self._recorded_spend(budget)
            if pico:
                await backend.seed(budget, pico)
        self._seeded = state

    async def _keep_seeded(self, get_snapshot: Callable[[], Snapshot]) -> None:
        failing = False
        while True:
            await asyncio.sleep(SEED_CHECK_S)
            try:
                await self._seed(get_snapshot())
                if failing:
                    log.info("recorded spend readable again")
                failing = False
            except Exception as exc:
                if not failing:
                    log.warning("recorded spend not loaded (%s); budgets count from what this process saw",
                                type(exc).__name__)
                failing = True

    def use_overlay(self, overlay: Overlay) -> None:
        self.governor.overlay = overlay

    def _wanted(self, snap: Snapshot) -> tuple[str | None, int]:
        url = snap.redis_url or self.fallback_url
        return (url, snap.limits.redis_pool_size) if url else (None, 0)

    def follow(self, snap: Snapshot) -> None:
        """Called on every snapshot swap: a changed redis_url (or pool size) gets a new backend."""
        url, size = self._wanted(snap)
        if (url, size) == backend_identity(self.governor.backend):
            return
        old = self.governor.use_backend(backend_for(url, size))
        log.info("limits now kept in %s", f"Redis at {redacted(url)}" if url else "this process's memory")
        task = asyncio.get_running_loop().create_task(_close_later(old))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def ready(self, snap: Snapshot) -> tuple[bool, dict[str, str]]:
        """Redis's state for /health/ready; not ready only when it is down and limits fail closed."""
        if self._wanted(snap)[0] is None:
            return True, {}
        up = await self.governor.ping()
        return up or snap.limits.on_redis_error == "open", {"redis": "ok" if up else "down"}

    async def aclose(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
        for task in list(self._closing):
            task.cancel()
        await self.governor.aclose()


async def _close_later(backend: LimitBackend) -> None:
    try:
        await asyncio.sleep(CLOSE_OLD_AFTER_S)
    finally:
        with contextlib.suppress(Exception):
            await backend.aclose()
