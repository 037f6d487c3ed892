"""The limiter across a server's life: follows `redis_url` through reloads, reports readiness."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bonito.limits.backends import backend_for, backend_identity, redacted
from bonito.limits.governor import CrossingListener, Governor
from bonito.limits.policy import all_budgets
from bonito.snapshot import Overlay

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bonito.limits.base import LimitBackend
    from bonito.snapshot import Snapshot

log = logging.getLogger("bonito.limits")
CLOSE_OLD_AFTER_S = 30.0
STORE_POLL_S = 0.5  # let requests admitted by the old backend settle against it


class LimitsRuntime:
    """Owns the Governor the gateway calls; `fallback_url` is REDIS_URL from the environment."""

    def __init__(self, snap: Snapshot, fallback_url: str | None = None,
                 on_crossing: CrossingListener | None = None) -> None:
        self.fallback_url = fallback_url
        url, size = self._wanted(snap)
        self.governor = Governor(backend_for(url, size), on_crossing=on_crossing)
        self._closing: set[asyncio.Task[None]] = set()
        self._follow: asyncio.Task[None] | None = None
        self._seen: int | None = None
        self._seeded: tuple[object, ...] | None = None

    async def start(self, engine: AsyncEngine, get_snapshot: Callable[[], Snapshot]) -> None:
        """Load limits set through the API and seed budgets with recorded spend (before serving,
        when the database answers quickly), then follow changes in the background."""
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            await asyncio.wait_for(self._sync(sessions, get_snapshot), 5)
        except Exception as exc:
            log.warning("governance settings not loaded at start (%s); retrying", type(exc).__name__)
        self._follow = asyncio.create_task(self._follow_store(sessions, get_snapshot), name="bonito-limits-store")

    async def _sync(self, sessions: async_sessionmaker[AsyncSession], get_snapshot: Callable[[], Snapshot]) -> None:
        """Reload the overlay when `control_state.version` moved (every API change bumps it);
        seed budgets at start, on any change, and when Redis comes back."""
        from bonito.limits.overlay_source import load_overlay
        from bonito.limits.seed import seed_budgets
        from bonito.store.catalog import ControlState

        async with sessions() as session:
            version = int(await session.scalar(select(ControlState.version).where(ControlState.id == 1)) or 0)
            if version != self._seen:
                self.use_overlay(await load_overlay(session))
                self._seen = version
            backend, snap = self.governor.backend, get_snapshot()
            state = (version, snap.version, id(backend), backend.available)
            if backend.available and state != self._seeded:
                await seed_budgets(session, backend, all_budgets(snap, self.governor.overlay, self.governor.clock()))
                self._seeded = state

    async def _follow_store(self, sessions: async_sessionmaker[AsyncSession],
                            get_snapshot: Callable[[], Snapshot]) -> None:
        """Every `STORE_POLL_S`: a change through the API serves traffic within about a second."""
        failing = False
        while True:
            await asyncio.sleep(STORE_POLL_S)
            try:
                await self._sync(sessions, get_snapshot)
                if failing:
                    log.info("governance settings readable again")
                failing = False
            except Exception as exc:
                if not failing:
                    log.warning("governance settings not loaded (%s); serving the last ones", type(exc).__name__)
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
