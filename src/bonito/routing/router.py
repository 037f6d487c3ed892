"""Turns a request and the snapshot into a Plan."""

from __future__ import annotations

from typing import Any

from bonito.gateway.snapshot import ModelEntry, RouteEntry
from bonito.routing.plan import Plan

# Plain models (no route) get one retry on a transient failure.
DIRECT_MAX_ATTEMPTS = 2


class Router:
    """Plans requests; one per process, holding per-target observations."""

    def plan_model(self, model: ModelEntry) -> Plan:
        return Plan([model], "direct", f"model '{model.name}' is served by provider '{model.provider_id}'",
                    max_attempts=DIRECT_MAX_ATTEMPTS)

    def plan_route(self, route: RouteEntry, body: dict[str, Any]) -> Plan:
        return Plan(list(route.targets), route.strategy, "targets in configured order",
                    route=route.name, max_attempts=route.retries.max_attempts, timeout_s=route.timeout_s)
