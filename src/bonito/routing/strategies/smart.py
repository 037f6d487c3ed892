"""smart: simple prompts to the cheapest target, complex ones to the strongest (the most expensive).

The latest user message is scored by `routing.complexity` (0 = simple,
1 = complex); at or above the route's `smart.threshold` (default 0.5) the
targets are tried from the most expensive down, below it from the cheapest up.
"""

from __future__ import annotations

from bonito.routing.complexity import complexity
from bonito.routing.request import RouteRequest
from bonito.routing.strategy import Choice, Pool, StrategyDeps


class Smart:
    def __init__(self, deps: StrategyDeps) -> None:
        pass

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        score = complexity(req.last_user_text)
        # "strength" by list price per million tokens (input + output); ties keep configured order
        price = [t.price.input_per_mtok + t.price.output_per_mtok for t in pool.targets]
        cheap_first = sorted(range(len(pool.targets)), key=lambda i: (price[i], i))
        complex_ = score >= pool.smart_threshold
        order = sorted(range(len(pool.targets)), key=lambda i: (-price[i], i)) if complex_ else cheap_first
        best = pool.targets[order[0]]
        kind = "complex" if complex_ else "simple"
        return Choice([pool.targets[i] for i in order],
                      f"prompt complexity {score:.2f} vs threshold {pool.smart_threshold:g}: {kind}, "
                      f"so '{best.name}' first",
                      {"complexity": round(score, 4)})
