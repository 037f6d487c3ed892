"""Limits shared by every replica through one Redis: one script call per check.

A connection pool (`limits.redis_pool_size`, default 20) waits for a free
connection rather than failing. When Redis stops answering, calls fail fast
(BackendDown) instead of each waiting on a dead socket, and a probe pings it
every half second; when it answers again, stale connections are dropped, spend
counted meanwhile is added, and limits are exact again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bonito.limits import lua
from bonito.limits.backends import redacted
from bonito.limits.base import WINDOW_S, BackendDown, Budget, LimitPlan, Verdict, WindowState

log = logging.getLogger("bonito.limits")
PREFIX = "bonito:"
SOCKET_TIMEOUT_S = 1.0
PROBE_EVERY_S = 0.5
SPEND_TTL_MARGIN_S = 7 * 86400


class RedisBackend:
    remote = True

    def __init__(self, url: str, pool_size: int = 20) -> None:
        self.url = url
        self.pool_size = pool_size
        self.pool: BlockingConnectionPool = BlockingConnectionPool.from_url(
            url, max_connections=pool_size, timeout=2.0, socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=SOCKET_TIMEOUT_S, retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        self.client: Redis = Redis(connection_pool=self.pool)
        self._admit = self.client.register_script(lua.ADMIT)
        self._settle = self.client.register_script(lua.SETTLE)
        self._seed = self.client.register_script(lua.SEED)
        self._up = True
        self._probe: asyncio.Task[None] | None = None
        self._unsettled: dict[str, tuple[int, int]] = {}  # spend counted while down: ledger -> (pico, ttl)

    @property
    def available(self) -> bool:
        return self._up

    async def admit(self, plan: LimitPlan) -> Verdict:
        keys = [PREFIX + w.bucket for w in plan.windows] + [PREFIX + b.ledger for b in plan.budgets]
        args: list[Any] = [int(plan.now * 1000), len(plan.windows), len(plan.budgets), WINDOW_S]
        for w in plan.windows:
            args += [w.limit, w.charge]
        for b in plan.budgets:
            args += [b.cap_pico if b.hard else "", "" if b.throttle_pico is None else b.throttle_pico,
                     b.throttle_limit or 0, 0 if b.throttle_window is None else b.throttle_window + 1]
        raw = await self._call(self._admit, keys, args)
        status, index = int(raw[0]), int(raw[1])
        states = []
        for i, w in enumerate(plan.windows):
            limit, used, reset_ms = (int(x) for x in raw[2 + 3 * i: 5 + 3 * i])
            states.append(WindowState(w.kind, w.scope, limit, used, max(0.001, reset_ms / 1000)))
        spend = tuple(int(x) for x in raw[2 + 3 * len(plan.windows):])
        if status == 2:
            return Verdict(tuple(states), spend, refused_budget=index - 1)
        return Verdict(tuple(states), spend, refused_window=index - 1 if status == 1 else None)

    async def settle(self, plan: LimitPlan, tokens: int, cost_pico: int, now: float) -> tuple[int, ...]:
        tw = plan.token_windows
        ttls = [int(b.period_end - now) + SPEND_TTL_MARGIN_S for b in plan.budgets]
        keys = [PREFIX + w.bucket for w in tw] + [PREFIX + b.ledger for b in plan.budgets]
        args = [len(tw), len(plan.budgets), int(plan.now), int(now), plan.estimate, tokens, WINDOW_S,
                str(cost_pico), *ttls]
        try:
            raw = await self._call(self._settle, keys, args)
        except BackendDown:
            if cost_pico:  # spend is kept and added on recovery; token windows will have moved on
                for b, ttl in zip(plan.budgets, ttls, strict=True):
                    self._unsettled[b.ledger] = (self._unsettled.get(b.ledger, (0, 0))[0] + cost_pico, ttl)
            raise
        return tuple(int(x) for x in raw)

    async def seed(self, budget: Budget, pico: int) -> None:
        ttl = int(budget.period_end - time.time()) + SPEND_TTL_MARGIN_S
        await self._call(self._seed, [PREFIX + budget.ledger], [str(pico), ttl])

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        if not self._up:
            raise BackendDown(f"Redis at {redacted(self.url)} is unreachable")
        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._went_down(exc)
            raise BackendDown(f"Redis at {redacted(self.url)} is unreachable: {exc}") from exc

    def _went_down(self, exc: BaseException) -> None:
        if not self._up:
            return
        self._up = False
        log.error("Redis at %s is unreachable (%s); probing every %gs", redacted(self.url),
                  exc or type(exc).__name__, PROBE_EVERY_S)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        while True:
            await asyncio.sleep(PROBE_EVERY_S)
            try:
                await self.pool.disconnect()
                async with asyncio.timeout(SOCKET_TIMEOUT_S * 2):
                    await self.client.ping()
                    await self._flush_unsettled()
            except Exception:
                continue
            self._up = True
            log.info("Redis at %s answers again; limits are exact again", redacted(self.url))
            return

    async def _flush_unsettled(self) -> None:
        while self._unsettled:
            ledger, (pico, ttl) = next(iter(self._unsettled.items()))
            pipe = self.client.pipeline(transaction=False)
            pipe.incrby(PREFIX + ledger, pico)
            pipe.expire(PREFIX + ledger, ttl)
            await pipe.execute()
            del self._unsettled[ledger]

    async def ping(self) -> bool:
        """Whether Redis answers now (for /health/ready); a failure starts recovery."""
        if not self._up:
            return False
        try:
            async with asyncio.timeout(SOCKET_TIMEOUT_S * 2):
                await self.client.ping()
        except Exception as exc:
            self._went_down(exc)
            return False
        return True

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._probe
        with contextlib.suppress(Exception):
            await self.client.aclose()
        with contextlib.suppress(Exception):
            await self.pool.disconnect()
