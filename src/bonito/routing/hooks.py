"""The gateway's per-target hooks, backed by circuit breakers and live observations."""

from __future__ import annotations

from collections.abc import Callable

from bonito.gateway.execute import Admission, AttemptResult, TargetHooks
from bonito.reliability.breaker import BreakerStore, breaker_key
from bonito.routing.observed import Observations
from bonito.routing.plan import Plan
from bonito.snapshot import ModelEntry


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
