"""A stored routing policy as the `RouteConfig` of bonito.yaml, and back: the one place that maps them.

Fields with a column of their own keep it; every other field of a route is
kept whole in `options`, so a field added to `RouteConfig` (or to one of its
objects, like `smart`) is stored and compiled with no change here.
"""

from __future__ import annotations

from typing import Any

from bonito.config.schema import RouteConfig
from bonito.store.catalog import RoutingPolicyRow

# kept in columns; `key` is stored as a hash only, never in the config
_COLUMNS = frozenset({"key", "strategy", "targets", "retries", "timeout_s", "circuit_breaker"})


def read(row: RoutingPolicyRow) -> RouteConfig:
    """The policy as a route of bonito.yaml (without its key, which only its hash remembers)."""
    return RouteConfig.model_validate({
        **(row.options or {}),
        "strategy": row.strategy, "targets": row.targets, "retries": {"max_attempts": row.retries},
        "timeout_s": row.timeout_s,
        "circuit_breaker": {"failure_threshold": row.breaker_failures, "cooldown_s": row.breaker_cooldown_s,
                            "error_rate": row.breaker_error_rate, "window_s": row.breaker_window_s,
                            "min_requests": row.breaker_min_requests}})


def write(row: RoutingPolicyRow, cfg: RouteConfig) -> None:
    """Store every field of `cfg` (but its key) on `row`."""
    row.strategy = cfg.strategy
    row.targets = [t.model_dump(exclude_none=True) for t in cfg.targets]
    row.retries = cfg.retries.max_attempts
    row.timeout_s = cfg.timeout_s
    b = cfg.circuit_breaker
    row.breaker_failures, row.breaker_cooldown_s = b.failure_threshold, b.cooldown_s
    row.breaker_error_rate, row.breaker_window_s, row.breaker_min_requests = b.error_rate, b.window_s, b.min_requests
    row.options = cfg.model_dump(mode="json", include=set(RouteConfig.model_fields) - _COLUMNS)


def as_fields(cfg: RouteConfig) -> dict[str, Any]:
    """Every field of the route as the API answers it (the key left out)."""
    return cfg.model_dump(exclude={"key"})
