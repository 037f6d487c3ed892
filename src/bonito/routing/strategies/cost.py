"""cost_optimized: cheapest first, by each target's price for the request's estimated tokens."""

from __future__ import annotations

from bonito.routing.request import RouteRequest
from bonito.routing.strategy import Choice, Pool, StrategyDeps, estimated_cost


class CostOptimized:
    def __init__(self, deps: StrategyDeps) -> None:
        pass

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        costs = [estimated_cost(t, req) for t in pool.targets]
        order = sorted(range(len(pool.targets)), key=lambda i: (costs[i], i))  # ties keep configured order
        best = pool.targets[order[0]]
        return Choice(
            [pool.targets[i] for i in order],
            f"cheapest for ~{req.prompt_tokens} prompt + {req.completion_tokens} completion tokens: "
            f"'{best.name}' at ${costs[order[0]]:.6f}",
            {t.name: {"est_cost_usd": f"{c:.8f}"} for t, c in zip(pool.targets, costs, strict=True)},
        )
