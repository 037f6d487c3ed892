"""least_busy: the target with the fewest calls in flight from this process first."""

from __future__ import annotations

from bonito.routing.request import RouteRequest
from bonito.routing.strategy import Choice, Pool, StrategyDeps


class LeastBusy:
    def __init__(self, deps: StrategyDeps) -> None:
        self.obs = deps.observations

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        busy = [self.obs.in_flight(t) for t in pool.targets]
        order = sorted(range(len(pool.targets)), key=lambda i: (busy[i], i))
        best = pool.targets[order[0]]
        return Choice([pool.targets[i] for i in order],
                      f"fewest calls in flight: '{best.name}' ({busy[order[0]]})",
                      {t.name: {"in_flight": n} for t, n in zip(pool.targets, busy, strict=True)})
