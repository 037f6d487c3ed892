"""Routing's per-target hooks, which the gateway calls around every attempt: the protocol
(`TargetHooks`, a no-op base) and `RouteHooks`, backed by circuit breakers and live observations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from bonito.reliability.breaker import BreakerStore, breaker_key
from bonito.routing.observed import Observations
from bonito.routing.plan import Plan
from bonito.snapshot import ModelEntry

# How an attempt ended, for breakers and statistics: "answered" is an upstream error
# answer that is not the upstream's fault (a client-caused 4xx).
AttemptResult = Literal["ok", "answered", "failure", "cancelled"]
Admission = Literal["closed", "probe"]


class TargetHooks:
    """Breaker decisions and observations per target; `RouteHooks` implements them."""

    async def admit(self, plan: Plan, target: ModelEntry) -> Admission | None:
        """May `target` be called now? None skips it (its circuit breaker is open)."""
        return "closed"

    def started(self, target: ModelEntry) -> None:
        return None

    def finished(self, plan: Plan, target: ModelEntry, admission: Admission, result: AttemptResult,
                 ms: float, stream: bool) -> bool:
        """Record an attempt; returns whether this target may be tried again."""
        return True

    def released(self, target: ModelEntry, total_ms: float | None) -> None:
        """The call is over (a stream: its last chunk was read); total_ms when it completed."""
        return None


class RouteHooks(TargetHooks):
    """Breakers decide which targets a route may call; every call feeds latency and in-flight stats."""

    def __init__(self, observations: Observations, breakers: Callable[[], BreakerStore]) -> None:
        self.obs = observations
        self._breakers = breakers  # read per call: the store changes when redis_url does

    async def admit(self, plan: Plan, target: ModelEntry) -> Admission | None:
        if plan.breaker is None or plan.breaker_route is None:
            return "closed"
        verdict = await self._breakers().acquire(breaker_key(plan.org_id, plan.breaker_route, target.name),
                                                 plan.breaker)
        return None if verdict == "open" else verdict

    def started(self, target: ModelEntry) -> None:
        self.obs.started(target)

    def finished(self, plan: Plan, target: ModelEntry, admission: Admission, result: AttemptResult,
                 ms: float, stream: bool) -> bool:
        if result == "ok":
            if stream:
                self.obs.ttft(target, ms)
            else:
                self.obs.latency(target, ms)
        if plan.breaker is None or plan.breaker_route is None:
            return True
        counted = "ok" if result == "answered" else result  # an upstream that answers a 4xx is working
        return self._breakers().record(breaker_key(plan.org_id, plan.breaker_route, target.name), plan.breaker,
                                       counted, admission == "probe")

    def released(self, target: ModelEntry, total_ms: float | None) -> None:
        self.obs.released(target)
        if total_ms is not None:
            self.obs.latency(target, total_ms)
