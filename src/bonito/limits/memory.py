"""In-process limits: exact for one process (`bonito serve --workers 1`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from bonito.limits.base import WINDOW_S, Budget, LimitPlan, Verdict
from bonito.limits.governor import Governor
from bonito.limits.window import Buckets, admit, count, reconcile


class MemoryBackend:
    """Counters in dicts. Every operation runs without awaiting, so each is atomic on the
    event loop. Idle windows and spend from ended periods are swept once a minute, so
    memory follows active keys, not traffic."""

    available = True
    remote = False

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._windows: dict[str, Buckets] = {}
        self._spend: dict[str, tuple[int, float]] = {}  # ledger -> (picodollars, period end)
        self._last_sweep = clock()

    def _buckets(self, name: str) -> Buckets:
        found = self._windows.get(name)
        if found is None:
            found = self._windows[name] = {}
        return found

    def spend(self, ledger: str) -> int:
        return self._spend.get(ledger, (0, 0.0))[0]

    async def admit(self, plan: LimitPlan) -> Verdict:
        self._maybe_sweep(plan.now)
        spend = [self.spend(b.ledger) for b in plan.budgets]
        return admit(plan, [self._buckets(w.bucket) for w in plan.windows], spend)

    async def settle(self, plan: LimitPlan, tokens: int, cost_pico: int, now: float) -> tuple[int, ...]:
        for w in plan.token_windows:
            reconcile(self._buckets(w.bucket), int(plan.now), int(now), plan.estimate, tokens)
        after = []
        for b in plan.budgets:
            total = self.spend(b.ledger) + cost_pico
            self._spend[b.ledger] = (total, b.period_end)
            after.append(total)
        return tuple(after)

    async def seed(self, budget: Budget, pico: int) -> None:
        if pico > self.spend(budget.ledger):
            self._spend[budget.ledger] = (pico, budget.period_end)

    def _maybe_sweep(self, now: float) -> None:
        if now - self._last_sweep < WINDOW_S:
            return
        self._last_sweep = now
        for name in list(self._windows):
            buckets = self._windows[name]
            if count(buckets, int(now))[0] == 0:
                del self._windows[name]
        for ledger in [k for k, (_, end) in self._spend.items() if end <= now]:
            del self._spend[ledger]

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._windows.clear()


class MemoryRequestLimiter(Governor):
    """The gateway's default: a Governor over one process's memory."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__(MemoryBackend(clock), clock=clock)
