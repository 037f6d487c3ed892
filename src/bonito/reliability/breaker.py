"""Circuit breakers per route target, kept in-process.

closed ──(failure_threshold consecutive transient failures)──► open
open ──(cooldown_s passed; the next request that would use it)──► half-open: one probe
probe succeeds ──► closed · probe fails ──► open for another cooldown_s

A client-caused answer (4xx) counts as the upstream working. A call that was
cancelled (the client went away) says nothing about the upstream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from bonito.config.schema import BreakerConfig

Verdict = Literal["closed", "probe", "open"]  # what `acquire` allows: call, call as the probe, skip
Result = Literal["ok", "failure", "cancelled"]
State = Literal["closed", "open", "half_open"]

# A probe that never reports back (a crashed task) frees the half-open slot after this long.
PROBE_LEASE_S = 60.0


class BreakerStore(Protocol):
    """Where breaker state lives: this process (`LocalBreakers`) or Redis (`RedisBreakers`)."""

    async def acquire(self, key: str, cfg: BreakerConfig) -> Verdict:
        """May a call go to this target now? "probe" means this call is the half-open probe."""
        ...

    def record(self, key: str, cfg: BreakerConfig, result: Result, probe: bool) -> bool:
        """Count a finished call; returns True while the target may still be called (breaker not open)."""
        ...

    def state(self, key: str, cfg: BreakerConfig) -> State:
        """The breaker's state, without changing it (dry runs, dashboards)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class CircuitBreaker:
    """One target's breaker: a pure state machine over an injected clock reading."""

    failures: int = 0
    open_until: float = 0.0  # 0 = closed; else the clock reading when the cooldown ends
    probe_until: float = 0.0  # while > now, a half-open probe is in flight

    def state(self, now: float) -> State:
        if not self.open_until:
            return "closed"
        return "open" if now < self.open_until or now < self.probe_until else "half_open"

    def acquire(self, now: float) -> Verdict:
        if not self.open_until:
            return "closed"
        if now < self.open_until or now < self.probe_until:
            return "open"
        self.probe_until = now + PROBE_LEASE_S
        return "probe"

    def record(self, now: float, cfg: BreakerConfig, result: Result, probe: bool) -> bool:
        if result == "cancelled":
            if probe:
                self.probe_until = 0.0  # let the next request probe instead
            return not self.open_until
        if self.open_until and not probe:
            return False  # a call that began before the breaker opened: only the probe decides
        if result == "ok":
            self.failures, self.open_until, self.probe_until = 0, 0.0, 0.0
            return True
        self.failures += 1
        if probe or self.failures >= cfg.failure_threshold:
            self.failures, self.open_until, self.probe_until = 0, now + cfg.cooldown_s, 0.0
            return False
        return True


class LocalBreakers:
    """Breakers of this process, by key (route and target)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def _get(self, key: str) -> CircuitBreaker:
        b = self._breakers.get(key)
        if b is None:
            b = self._breakers[key] = CircuitBreaker()
        return b

    async def acquire(self, key: str, cfg: BreakerConfig) -> Verdict:
        return self.acquire_now(key)

    def acquire_now(self, key: str) -> Verdict:
        b = self._breakers.get(key)
        return "closed" if b is None else b.acquire(self._clock())

    def record(self, key: str, cfg: BreakerConfig, result: Result, probe: bool) -> bool:
        if result == "ok" and not probe and key not in self._breakers:
            return True  # the common case allocates nothing
        return self._get(key).record(self._clock(), cfg, result, probe)

    def state(self, key: str, cfg: BreakerConfig) -> State:
        b = self._breakers.get(key)
        return "closed" if b is None else b.state(self._clock())

    async def aclose(self) -> None:
        return None


def breaker_key(route: str, target: str) -> str:
    """Breakers are per target of a route: the same model in two routes has two breakers."""
    return f"{route}\x1f{target}"
