"""Circuit breakers shared by every worker and replica through Redis (when `redis_url` is set).

Each process keeps a mirror of the breakers it uses, so the common case (a
closed breaker, a successful call) does no Redis I/O at all. Redis is written
when a call fails or a breaker changes state (atomic Lua scripts), asked when
a cooldown has passed (so exactly one process sends the half-open probe), and
read every `refresh_s` in the background for breakers other processes moved.
If Redis is unreachable the mirror alone decides: breakers work per process.

The error-rate rule (`error_rate`, `window_s`, `min_requests`) is judged by
each process over its own calls, a sample of the fleet's traffic: counting
every success in Redis would put a write on every request. When a process's
window trips, it writes the opening to Redis (`_FAIL` with its open-now flag),
so every replica skips the target and the half-open probe is shared as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from bonito.config.schema import BreakerConfig
from bonito.reliability.breaker import PROBE_LEASE_S, CircuitBreaker, Result, State, Verdict

log = logging.getLogger("bonito.reliability")

_FAIL = """
local ou = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
local probe = ARGV[4] == '1'
if ou > 0 and not probe then return {'0', tostring(ou)} end
local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if probe or ARGV[6] == '1' or f >= tonumber(ARGV[2]) then
  ou = tonumber(ARGV[1]) + tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], 'failures', 0, 'open_until', tostring(ou), 'probe_until', 0)
  f = 0
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {tostring(f), tostring(ou)}
"""
_OK = """
local ou = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
if ou > 0 and ARGV[1] ~= '1' then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
_PROBE = """
local v = redis.call('HMGET', KEYS[1], 'open_until', 'probe_until')
local ou, pu, now = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(ARGV[1])
if ou == 0 then return 'closed' end
if now < ou or now < pu then return 'open' end
redis.call('HSET', KEYS[1], 'probe_until', tostring(now + tonumber(ARGV[2])))
return 'probe'
"""
_PREFIX = "bonito:cb:"


class RedisBreakers:
    """A `BreakerStore` whose state is shared through Redis; wall-clock times (replicas share them)."""

    def __init__(self, url: str, *, refresh_s: float = 0.5, client: Any = None) -> None:
        self.url = url
        self.refresh_s = refresh_s
        self._client = client
        self._mirror: dict[str, CircuitBreaker] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._refresher: asyncio.Task[None] | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import redis.asyncio as aioredis  # only when Redis is configured

            self._client = aioredis.from_url(self.url, socket_timeout=1.0, socket_connect_timeout=1.0)
        if self._refresher is None:
            self._refresher = asyncio.ensure_future(self._refresh_forever())
        return self._client

    def _get(self, key: str) -> CircuitBreaker:
        b = self._mirror.get(key)
        if b is None:
            b = self._mirror[key] = CircuitBreaker()
        return b

    async def acquire(self, key: str, cfg: BreakerConfig) -> Verdict:
        b = self._mirror.get(key)
        if b is None:  # first use in this process: learn its state once, then the refresher follows it
            b = self._get(key)
            try:
                f, ou, pu = await self.client.hmget(_PREFIX + key, "failures", "open_until", "probe_until")
                self._apply(key, int(f or 0), float(ou or 0), float(pu or 0))
            except Exception as exc:
                log.debug("redis breaker read failed (%s)", type(exc).__name__)
        now = time.time()
        if not b.open_until or now < b.open_until or now < b.probe_until:
            return b.acquire(now)
        try:  # the cooldown is over: one process in the fleet wins the probe
            verdict = (await self.client.eval(_PROBE, 1, _PREFIX + key, now, PROBE_LEASE_S)).decode()
        except Exception as exc:
            log.debug("redis breaker probe failed (%s); deciding locally", type(exc).__name__)
            return b.acquire(now)
        if verdict == "closed":  # another process's probe closed it
            b.failures, b.open_until, b.probe_until = 0, 0.0, 0.0
            b.clear_window()
        elif verdict == "probe":
            b.probe_until = now + PROBE_LEASE_S
        return verdict  # type: ignore[no-any-return]

    def record(self, key: str, cfg: BreakerConfig, result: Result, probe: bool) -> bool:
        b = self._get(key)
        was_open = bool(b.open_until)
        dirty = bool(b.failures or was_open or probe)
        allowed = b.record(time.time(), cfg, result, probe)
        if result == "failure":
            rate_tripped = not allowed and not was_open and b.opened_by_rate  # this failure opened it
            self._spawn(self._write_failure(key, cfg, probe, rate_tripped))
        elif result == "ok" and dirty:
            self._spawn(self._write(_OK, key, "1" if probe else "0"))
        elif result == "cancelled" and probe:
            self._spawn(self._write("redis.call('HSET', KEYS[1], 'probe_until', 0) return 1", key))
        return allowed

    def state(self, key: str, cfg: BreakerConfig) -> State:
        b = self._mirror.get(key)
        return "closed" if b is None else b.state(time.time())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write_failure(self, key: str, cfg: BreakerConfig, probe: bool, open_now: bool) -> None:
        try:
            failures, open_until = await self.client.eval(
                _FAIL, 1, _PREFIX + key, time.time(), cfg.failure_threshold, cfg.cooldown_s,
                "1" if probe else "0", _ttl(cfg), "1" if open_now else "0")
        except Exception as exc:
            log.debug("redis breaker write failed (%s)", type(exc).__name__)
            return
        self._apply(key, int(failures), float(open_until), None)

    async def _write(self, script: str, key: str, *args: Any) -> None:
        with contextlib.suppress(Exception):
            await self.client.eval(script, 1, _PREFIX + key, *args)

    def _apply(self, key: str, failures: int, open_until: float, probe_until: float | None) -> None:
        b = self._get(key)
        if bool(b.open_until) != bool(open_until):
            b.clear_window()  # opened or closed elsewhere: count afresh, as for a local change
        b.failures, b.open_until = failures, open_until
        if probe_until is not None:
            b.probe_until = probe_until

    async def refresh(self) -> None:
        """Read every known breaker from Redis into the mirror (one pipelined round trip)."""
        keys = list(self._mirror)
        if not keys:
            return
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(_PREFIX + key, "failures", "open_until", "probe_until")
        for key, (f, ou, pu) in zip(keys, await pipe.execute(), strict=True):
            self._apply(key, int(f or 0), float(ou or 0), float(pu or 0))

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception as exc:
                log.debug("redis breaker refresh failed (%s)", type(exc).__name__)

    async def aclose(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refresher
        for task in list(self._pending):
            with contextlib.suppress(Exception):
                await task
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()


def _ttl(cfg: BreakerConfig) -> int:
    """Idle breakers expire from Redis: a few cooldowns, at least ten minutes."""
    return int(max(600.0, cfg.cooldown_s * 4))
