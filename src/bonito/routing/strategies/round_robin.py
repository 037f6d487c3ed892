"""round_robin: each request starts at the next target in turn; the others follow as fallbacks."""

from __future__ import annotations

from bonito.routing.request import RouteRequest
from bonito.routing.strategy import Choice, Pool, StrategyDeps


class RoundRobin:
    def __init__(self, deps: StrategyDeps) -> None:
        self._next: dict[str, int] = {}  # per pool; bounded by the number of routes and rules

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        n = len(pool.targets)
        turn = self._next.get(pool.key, 0) % n
        if commit:
            self._next[pool.key] = (turn + 1) % n
        order = [*pool.targets[turn:], *pool.targets[:turn]]
        return Choice(order, f"round robin: turn {turn + 1} of {n} is '{order[0].name}'")
