"""Circuit breakers per route target, kept in-process.

closed ──(failure_threshold consecutive transient failures)──► open
closed ──(with error_rate: a failure leaves ≥ error_rate of the calls in the last
          window_s failed, and ≥ min_requests calls are in it)──► open
open ──(cooldown_s passed; the next request that would use it)──► half-open: one probe
probe succeeds ──► closed · probe fails ──► open for another cooldown_s

A client-caused answer (4xx) counts as the upstream working. A call that was
cancelled (the client went away) says nothing about the upstream. The window
starts empty whenever the breaker opens or closes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from bonito.config.schema import BreakerConfig
from bonito.reliability.window import ErrorWindow

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
    window: ErrorWindow | None = None  # calls and failures, only when the route sets error_rate
    opened_by_rate: bool = False  # the last opening came from the error-rate rule

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
            if probe:
                self.clear_window()  # closing: start counting afresh
            elif cfg.error_rate is not None:
                self._window(cfg).add(now, failed=False)
            self.failures, self.open_until, self.probe_until = 0, 0.0, 0.0
            return True
        self.failures += 1
        if probe or self.failures >= cfg.failure_threshold:
            self._open(now, cfg, by_rate=False)
            return False
        if cfg.error_rate is not None:
            window = self._window(cfg)
            window.add(now, failed=True)
            if window.trips(now, cfg.error_rate, cfg.min_requests):
                self._open(now, cfg, by_rate=True)
                return False
        return True

    def clear_window(self) -> None:
        if self.window is not None:
            self.window.clear()

    def _open(self, now: float, cfg: BreakerConfig, by_rate: bool) -> None:
        self.failures, self.open_until, self.probe_until = 0, now + cfg.cooldown_s, 0.0
        self.opened_by_rate = by_rate
        self.clear_window()

    def _window(self, cfg: BreakerConfig) -> ErrorWindow:
        w = self.window
        if w is None or w.window_s != cfg.window_s:  # first use, or the route's window changed
            w = self.window = ErrorWindow(cfg.window_s)
        return w


class LocalBreakers:
    """Breakers of this process, by key (org, route and target)."""

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
        if result == "ok" and not probe and cfg.error_rate is None and key not in self._breakers:
            return True  # the common case allocates nothing (with error_rate, successes are counted)
        return self._get(key).record(self._clock(), cfg, result, probe)

    def state(self, key: str, cfg: BreakerConfig) -> State:
        b = self._breakers.get(key)
        return "closed" if b is None else b.state(self._clock())

    async def aclose(self) -> None:
        return None


def breaker_key(org: str, route: str, target: str) -> str:
    """Breakers are per target of an org's route: the same model in two routes has two breakers,
    and two orgs' routes of the same name never share one (in this process or in Redis)."""
    return f"{org}\x1f{route}\x1f{target}"
