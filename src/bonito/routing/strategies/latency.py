"""latency_optimized: fastest first, by the decaying average latency of recent live traffic.

Targets with no recent observation come first, so each is measured before
it is judged (and one left alone for a while is measured again).
"""

from __future__ import annotations

from bonito.routing.request import RouteRequest
from bonito.routing.strategy import Choice, Pool, StrategyDeps


class LatencyOptimized:
    def __init__(self, deps: StrategyDeps) -> None:
        self.obs = deps.observations

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        lat = [self.obs.recent_latency(t) for t in pool.targets]
        order = sorted(range(len(pool.targets)), key=lambda i: (lat[i] is not None, lat[i] or 0.0, i))
        first = order[0]
        best = pool.targets[first]
        if lat[first] is None:
            reason = f"'{best.name}' has no recent latency observation: measuring it"
        else:
            reason = f"lowest recent latency: '{best.name}' at {lat[first]:.1f} ms"
        scores = {t.name: {"latency_ms": None if v is None else round(v, 3),
                           "ttft_ms": _round(self.obs.recent_ttft(t))}
                  for t, v in zip(pool.targets, lat, strict=True)}
        return Choice([pool.targets[i] for i in order], reason, scores)


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
