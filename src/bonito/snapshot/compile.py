"""The one route compiler and key-scope reader, shared by every snapshot source (`bonito.yaml`,
the database, the agent's pulled config), so all three serve every field alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bonito.config.schema import RouteConfig
from bonito.snapshot.model import DEFAULT_ORG, ModelEntry, RouteEntry


def compile_route(name: str, r: RouteConfig, models: Mapping[str, ModelEntry], *, org_id: str = DEFAULT_ORG,
                  id: str | None = None) -> RouteEntry:
    """A validated route over `models` (every target must be among them)."""
    return RouteEntry(
        name=name, strategy=r.strategy,
        targets=tuple(models[t.model] for t in r.targets),
        weights=tuple(t.weight for t in r.targets),
        retries=r.retries, timeout_s=r.timeout_s, breaker=r.circuit_breaker,
        attempt_timeout_s=r.attempt_timeout_s, rules=tuple(r.rules), smart=r.smart,
        org_id=org_id, id=id, cache=r.cache,
    )


def key_scope(value: Any, provider_ids: Mapping[str, str]) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """A key's stored `allowed_models` → (model names, provider ids); None = no limit.

    Stored as a list of model names, or as `{"models": [...], "providers": [...]}` where a
    provider is named by id or name (`provider_ids` maps both to the id); both lists empty = no limit.
    """
    if value is None:
        return None, None
    if isinstance(value, list):
        return frozenset(str(v) for v in value), None
    if isinstance(value, dict):
        models = [str(v) for v in value.get("models") or []]
        providers = [provider_ids.get(str(v), str(v)) for v in value.get("providers") or []]
        if not models and not providers:
            return None, None
        return (frozenset(models) if models else frozenset()), (frozenset(providers) if providers else None)
    return frozenset(), None
