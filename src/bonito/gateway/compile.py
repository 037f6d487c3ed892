"""Turning config into snapshot entries: what every snapshot source shares above the ground floor
(providers are built here, prices resolved), and `bonito.yaml`'s whole compile step.

Provider instances (and their connection pools) whose config is unchanged are taken over from the
serving snapshot, so a reload does not drop warm connections.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bonito.config.schema import BonitoConfig
from bonito.providers.base import Provider
from bonito.providers.registry import build_provider
from bonito.snapshot import (
    DEFAULT_ORG,
    KeyEntry,
    ModelEntry,
    Snapshot,
    compile_route,
    hash_key,
)
from bonito.usage.pricing import resolve_price
from bonito.usage.tags import pairs


def provider_for(pid: str, config: Any, current: Snapshot | None) -> Provider:
    """The serving instance when its config is unchanged, else a new one (may raise on a bad config)."""
    old = current.providers.get(pid) if current else None
    return old if old is not None and getattr(old, "config", None) == config else build_provider(pid, config)


def model_entry(name: str, provider_id: str, provider: Provider, upstream_model: str, *,
                input_cost: Decimal | None = None, output_cost: Decimal | None = None,
                cached_input_cost: Decimal | None = None, cache_write_cost: Decimal | None = None,
                org_id: str = DEFAULT_ORG) -> ModelEntry:
    """A public model name bound to a provider, priced from the catalog unless its own prices are set."""
    price = resolve_price(provider.type, upstream_model, input_cost, output_cost, cached_input_cost,
                          cache_write_cost)
    return ModelEntry(name, provider_id, provider, upstream_model, price, org_id=org_id)


def compile_config(cfg: BonitoConfig, version: int, reuse: Snapshot | None = None) -> Snapshot:
    """Build a snapshot from a validated `bonito.yaml`."""
    providers = {pid: provider_for(pid, pcfg, reuse) for pid, pcfg in cfg.providers.items()}
    models = {
        name: model_entry(name, m.provider, providers[m.provider], m.model, input_cost=m.input_cost_per_mtok,
                          output_cost=m.output_cost_per_mtok, cached_input_cost=m.cached_input_cost_per_mtok,
                          cache_write_cost=m.cache_write_cost_per_mtok)
        for name, m in cfg.models.items()
    }
    routes = {name: compile_route(name, r, models) for name, r in cfg.routes.items()}

    keys: dict[str, KeyEntry] = {}
    for k in cfg.keys:
        digest = k.key_sha256 or hash_key(k.key or "")
        keys[digest] = KeyEntry(
            id=f"key_{digest[:16]}", name=k.name, org_id=k.org, key_hash=digest,
            requests_per_minute=k.requests_per_minute, tokens_per_minute=k.tokens_per_minute,
            allowed_models=frozenset(k.allowed_models) if k.allowed_models is not None else None,
            budget=k.budget, tags=pairs(k.tags), cache=k.cache,
        )
    for name, r in cfg.routes.items():
        if r.key:
            digest = hash_key(r.key)
            keys[digest] = KeyEntry(
                id=f"route_{digest[:16]}", name=f"route:{name}", org_id=DEFAULT_ORG, key_hash=digest,
                route=name,
            )

    return Snapshot(
        version=version, keys=keys, models=models, routes=routes, providers=providers,
        limits=cfg.limits, redis_url=cfg.redis_url, cors_origins=tuple(cfg.cors_origins),
        default_tier=cfg.default_tier, tiers=cfg.tiers, orgs=cfg.orgs, alerts=cfg.alerts, source="config",
        default_tag_keys=frozenset(cfg.tags),
        cache=cfg.cache if cfg.cache is not None and cfg.cache.on else None,
        cache_off_orgs=frozenset(org for org, o in cfg.orgs.items() if not o.cache),
    )
