"""Turns a request and the snapshot into a Plan: conditional rules, then the route's strategy.

One Router per process (the Gateway's); it owns the strategies' state, the
live observations per target and the circuit breakers, so nothing routing
keeps is a module global.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from bonito.reliability.breaker import BreakerStore, LocalBreakers
from bonito.routing.conditions import first_match
from bonito.routing.hooks import RouteHooks
from bonito.routing.observed import Observations
from bonito.routing.plan import Plan
from bonito.routing.request import RouteRequest
from bonito.routing.scoring.remote import RemoteScorers, shown_name
from bonito.routing.strategies import STRATEGIES
from bonito.routing.strategy import Pool, Strategy, StrategyDeps
from bonito.snapshot import Catalog, ModelEntry, RouteEntry, Snapshot

# Plain models (no route) get one retry on a transient failure.
DIRECT_MAX_ATTEMPTS = 2


class Router:
    """Plans requests; holds per-target observations, breakers and strategy state."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self.observations = Observations(clock)
        self.breakers: BreakerStore = LocalBreakers(clock)
        deps = StrategyDeps(self.observations, rng or random.Random())
        self.strategies: dict[str, Strategy] = {name: make(deps) for name, make in STRATEGIES.items()}
        self.hooks = RouteHooks(self.observations, lambda: self.breakers)
        self.remote_scorers = RemoteScorers()
        self._redis_url: str | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def sync(self, snap: Snapshot) -> None:
        """Follow the snapshot's `redis_url`: breakers shared through Redis, or kept in-process."""
        if snap.redis_url == self._redis_url:
            return
        from bonito.reliability.redis_breaker import RedisBreakers  # only when Redis is configured

        old = self.breakers
        self._redis_url = snap.redis_url
        self.breakers = RedisBreakers(snap.redis_url) if snap.redis_url else LocalBreakers()
        with contextlib.suppress(RuntimeError):  # no running loop: nothing was opened yet
            task = asyncio.get_running_loop().create_task(old.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def prescore(self, route: RouteEntry, req: RouteRequest) -> None:
        """Ask a smart route's own HTTP scorer before planning (planning itself never waits on I/O)."""
        if route.strategy == "smart" and route.smart.scorer != "builtin":
            score = await self.remote_scorers.score(route.smart.scorer, req.last_user_text,
                                                    route.smart.scorer_timeout_s)
            if score is not None:
                req.smart_score = (score, shown_name(route.smart.scorer))

    def plan_model(self, model: ModelEntry) -> Plan:
        return Plan([model], "direct", f"model '{model.name}' is served by provider '{model.provider_id}'",
                    max_attempts=DIRECT_MAX_ATTEMPTS)

    def plan_route(self, route: RouteEntry, req: RouteRequest | Mapping[str, Any], names: Catalog | None = None,
                   *, commit: bool = True) -> Plan:
        """The plan for a request addressed to `route`. `commit=False` (dry run) changes no state.

        `names` (the org's catalog) resolves conditional rules' routes and models (without it,
        those rules fall back to the route's own targets)."""
        if not isinstance(req, RouteRequest):
            req = RouteRequest(req)
        req.check()
        routes = names.routes if names is not None else {}
        models = names.models if names is not None else {}
        # strategy state (round-robin turns, A/B draws) is per org and route, or per org, route and rule
        serving, targets, rule_name, pool_key = route, route.targets, None, f"{route.org_id}\x1f{route.name}"
        match = first_match(route.rules, req) if route.rules else None
        if match is not None:
            i, rule = match
            rule_name = rule.name or f"rules[{i}]"
            if rule.route is not None and rule.route in routes:
                serving = routes[rule.route]
                targets, pool_key = serving.targets, f"{serving.org_id}\x1f{serving.name}"
            elif rule.targets is not None:
                targets = tuple(models[m] for m in rule.targets if m in models) or route.targets
                pool_key = f"{route.org_id}\x1f{route.name}\x1f{rule_name}"
        weights = serving.weights if targets is serving.targets else tuple(None for _ in targets)
        pool = Pool(pool_key, targets, weights, serving.smart)
        strategy = self.strategies.get(serving.strategy) or self.strategies["failover"]
        choice = strategy.rank(pool, req, commit)
        reason = choice.reason if rule_name is None else f"rule '{rule_name}' matched; {choice.reason}"
        return Plan(
            choice.order, serving.strategy, reason, route=route.name, org_id=route.org_id,
            max_attempts=serving.retries.max_attempts, timeout_s=serving.timeout_s,
            considered=[t.name for t in targets], attempt_timeout_s=serving.attempt_timeout_s,
            breaker=serving.breaker, breaker_route=serving.name, rule=rule_name, scores=choice.scores,
        )

    async def aclose(self) -> None:
        await self.breakers.aclose()
        await self.remote_scorers.aclose()
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task
