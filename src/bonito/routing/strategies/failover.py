"""failover: the configured order; the next target only when the one before it failed."""

from __future__ import annotations

from bonito.routing.request import RouteRequest
from bonito.routing.strategy import Choice, Pool, StrategyDeps


class Failover:
    def __init__(self, deps: StrategyDeps) -> None:
        pass

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        return Choice(list(pool.targets), "targets in configured order")
