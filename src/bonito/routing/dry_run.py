"""Dry run: the plan a request to a route would get right now, with its reasons; no upstream call.

`POST /api/routing-policies/{id}/test` answers with this. It runs the same
code as a real request, against the same live state (breakers, latency,
in-flight counts, the next A/B draw, the next round-robin turn), without
changing any of it: the next real request with the same body gets this plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from bonito.reliability.breaker import breaker_key
from bonito.routing.request import RouteRequest
from bonito.routing.router import Router
from bonito.snapshot import DEFAULT_ORG, RouteEntry, Snapshot


def dry_run(router: Router, snap: Snapshot, route: RouteEntry | str, body: Mapping[str, Any] | None = None,
            metadata: Mapping[str, Any] | bytes | str | None = None, org_id: str = DEFAULT_ORG) -> dict[str, Any]:
    """Plan a request to `route` (a RouteEntry, or a route name in `snap`) as the gateway would.

    `body` is the request body (its `model` and `messages` default to the route
    and an empty user message); `metadata` is what the `x-bonito-metadata`
    header would carry. Returns `explain` (exactly the `decision` a real
    request's usage record stores, without its attempts), the targets in order
    with their breaker state, and `first_target`: the target that would be called first.
    Raises KeyError for an unknown route name and GatewayError (400) for malformed metadata.
    """
    router.sync(snap)
    names = snap.catalog(route.org_id if isinstance(route, RouteEntry) else org_id)
    entry = names.routes[route] if isinstance(route, str) else route
    request_body = {"model": entry.name, "messages": [{"role": "user", "content": ""}], **(body or {})}
    header = orjson.dumps(metadata) if isinstance(metadata, Mapping) else metadata
    plan = router.plan_route(entry, RouteRequest(request_body, header), names, commit=False)
    targets = []
    first: str | None = None
    for t in plan.targets:
        state = "closed"
        if plan.breaker is not None and plan.breaker_route is not None:
            state = router.breakers.state(breaker_key(plan.org_id, plan.breaker_route, t.name), plan.breaker)
        if first is None and state != "open":
            first = t.name
        targets.append({"model": t.name, "provider": t.provider_id, "provider_type": t.provider_type,
                        "upstream_model": t.upstream_model, "breaker": state,
                        "skipped": state == "open"})
    breaker = plan.breaker
    return {
        "route": plan.route, "strategy": plan.strategy, "reason": plan.reason, "rule": plan.rule,
        "targets": targets, "first_target": first,
        "max_attempts_per_target": plan.max_attempts, "timeout_s": plan.timeout_s,
        "attempt_timeout_s": plan.attempt_timeout_s,
        "circuit_breaker": None if breaker is None else breaker.model_dump(),
        "explain": plan.explain(),
    }
