"""ab_test: the first target is drawn by weight (weights sum to 100); the others follow as fallbacks.

A request that names its user (`user`, or `metadata.user_id`) always lands on
the same arm; others are drawn at random. The next draw is made in advance,
so a dry run shows exactly the arm the next request will get.
"""

from __future__ import annotations

import hashlib

from bonito.routing.request import RouteRequest
from bonito.routing.strategy import Choice, Pool, StrategyDeps, then_rest


class ABTest:
    def __init__(self, deps: StrategyDeps) -> None:
        self._rng = deps.rng
        self._draws: dict[str, float] = {}  # per pool: the next request's draw in [0, 1)

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        weights = [w or 0.0 for w in pool.weights]
        total = sum(weights)
        user = req.sticky_id
        if user is not None:
            digest = hashlib.blake2b(f"{pool.key}\x1f{user}".encode(), digest_size=8).digest()
            point, how = int.from_bytes(digest) / 2**64, "by user"
        else:
            pending = self._draws.get(pool.key)
            point = self._rng.random() if pending is None else pending
            if commit:
                self._draws[pool.key] = self._rng.random()
            else:
                self._draws[pool.key] = point
            how = "at random"
        chosen = pool.targets[-1]
        edge = 0.0
        for target, w in zip(pool.targets, weights, strict=True):
            edge += w / total if total else 1 / len(weights)
            if point < edge:
                chosen = target
                break
        share = {t.name: {"weight": w} for t, w in zip(pool.targets, weights, strict=True)}
        return Choice(then_rest(chosen, pool.targets), f"A/B arm '{chosen.name}' drawn {how} by weight", share)
