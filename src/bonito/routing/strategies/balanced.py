"""balanced: cost and latency weighed equally, each relative to the most expensive / slowest target."""

from __future__ import annotations

from bonito.routing.request import RouteRequest
from bonito.routing.strategy import Choice, Pool, StrategyDeps, estimated_cost

COST_WEIGHT = 0.5


class Balanced:
    def __init__(self, deps: StrategyDeps) -> None:
        self.obs = deps.observations

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        costs = [float(estimated_cost(t, req)) for t in pool.targets]
        lats = [self.obs.recent_latency(t) for t in pool.targets]
        max_cost = max(costs) or 1.0
        known = [v for v in lats if v is not None]
        max_lat = max(known) if known else 1.0
        # an unmeasured target scores as fast, so it gets measured
        score = [COST_WEIGHT * c / max_cost + (1 - COST_WEIGHT) * ((v or 0.0) / max_lat if max_lat else 0.0)
                 for c, v in zip(costs, lats, strict=True)]
        order = sorted(range(len(pool.targets)), key=lambda i: (score[i], i))
        best = pool.targets[order[0]]
        return Choice(
            [pool.targets[i] for i in order],
            f"best cost/latency balance: '{best.name}' (score {score[order[0]]:.3f}; 0 = cheapest and fastest)",
            {t.name: {"score": round(s, 4), "est_cost_usd": f"{c:.8f}",
                      "latency_ms": None if v is None else round(v, 3)}
             for t, s, c, v in zip(pool.targets, score, costs, lats, strict=True)},
        )
