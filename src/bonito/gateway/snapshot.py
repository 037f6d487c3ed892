"""The immutable snapshot the gateway serves from, and how it is built from config.

Everything a request needs — keys by hash, models, routes, providers, limits —
is here, so the request path never touches a database. A new snapshot is
built beside the old one and swapped atomically (one reference assignment).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bonito.config.schema import (
    AlertsConfig,
    BonitoConfig,
    BreakerConfig,
    BudgetConfig,
    CacheConfig,
    LimitsConfig,
    OrgConfig,
    RetryConfig,
    RouteConfig,
    RouteRule,
    SmartConfig,
    TierConfig,
)
from bonito.providers.base import Provider
from bonito.providers.registry import build_provider
from bonito.usage.pricing import Price, resolve_price
from bonito.usage.tags import TagPairs, pairs

DEFAULT_ORG = "default"


def hash_key(plaintext: str) -> str:
    """SHA-256 hex of a gateway key: how keys are stored and looked up."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """A gateway (`bn-`) or route (`rt-`) key as the gateway sees it."""

    id: str
    name: str
    org_id: str
    key_hash: str
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    allowed_models: frozenset[str] | None = None  # public model / route names; None = all
    allowed_providers: frozenset[str] | None = None
    budget: BudgetConfig | None = None
    route: str | None = None  # set for rt- keys: the route that serves every request
    tier: str | None = None
    tags: TagPairs = ()  # default attribution tags of this key's requests
    cache: bool = True  # false: opted out of the response cache

    def may_use(self, model: str, provider_id: str | None = None) -> bool:
        if self.allowed_models is not None and model in self.allowed_models:
            return True
        if self.allowed_providers is not None and provider_id is not None and provider_id in self.allowed_providers:
            return True
        return self.allowed_models is None and self.allowed_providers is None


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """A public model name bound to one provider deployment."""

    name: str
    provider_id: str
    provider: Provider
    upstream_model: str
    price: Price
    org_id: str = DEFAULT_ORG

    @property
    def provider_type(self) -> str:
        return self.provider.type


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """A named routing policy: strategy over targets, with retries, timeout and breakers."""

    name: str
    strategy: str
    targets: tuple[ModelEntry, ...]
    weights: tuple[float | None, ...]
    retries: RetryConfig = field(default_factory=RetryConfig)
    timeout_s: float = 30.0
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    org_id: str = DEFAULT_ORG
    id: str | None = None
    attempt_timeout_s: float | None = None
    rules: tuple[RouteRule, ...] = ()
    smart: SmartConfig = field(default_factory=SmartConfig)
    cache: bool = True  # false: opted out of the response cache


@dataclass(frozen=True, slots=True)
class Catalog:
    """The model and route names one org's keys can address."""

    models: Mapping[str, ModelEntry]
    routes: Mapping[str, RouteEntry]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the gateway reads on the request path, frozen."""

    version: int
    keys: Mapping[str, KeyEntry]  # by SHA-256 of the plaintext
    models: Mapping[str, ModelEntry]
    routes: Mapping[str, RouteEntry]
    providers: Mapping[str, Provider]
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    redis_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    default_tier: str = "enterprise"
    tiers: Mapping[str, TierConfig] = field(default_factory=dict)  # overrides of the built-in tiers
    orgs: Mapping[str, OrgConfig] = field(default_factory=dict)  # org limits and budgets
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    source: str = "config"
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Full mode: each org has its own names (two orgs may both define `gpt-4o-mini`).
    # Config mode leaves it None: `models`/`routes` are everyone's.
    by_org: Mapping[str, Catalog] | None = None
    # metadata keys kept as tags on usage records: per org (full mode), else `tags:` of bonito.yaml
    tag_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    default_tag_keys: frozenset[str] = frozenset()

    def listed_tags(self, org_id: str) -> frozenset[str]:
        return self.tag_keys.get(org_id, self.default_tag_keys)
    cache: CacheConfig | None = None  # the response cache; None = off
    cache_off_orgs: frozenset[str] = frozenset()  # orgs that turned the cache off for themselves

    def catalog(self, org_id: str) -> Catalog:
        """The names a key of `org_id` can address."""
        if self.by_org is None:
            return Catalog(self.models, self.routes)
        return self.by_org.get(org_id) or _EMPTY_CATALOG

    @property
    def max_body_bytes(self) -> int:
        return int(self.limits.max_body_mb * 1024 * 1024)


_EMPTY_CATALOG = Catalog({}, {})


def compile_config(cfg: BonitoConfig, version: int, reuse: Snapshot | None = None) -> Snapshot:
    """Build a snapshot from a validated `bonito.yaml`.

    Provider instances (and their connection pools) whose config is unchanged
    are taken over from `reuse`, so a reload does not drop warm connections.
    """
    providers: dict[str, Provider] = {}
    for pid, pcfg in cfg.providers.items():
        old = reuse.providers.get(pid) if reuse else None
        if old is not None and getattr(old, "config", None) == pcfg:
            providers[pid] = old
        else:
            providers[pid] = build_provider(pid, pcfg)

    models: dict[str, ModelEntry] = {}
    for name, m in cfg.models.items():
        provider = providers[m.provider]
        price = resolve_price(provider.type, m.model, m.input_cost_per_mtok, m.output_cost_per_mtok,
                              m.cached_input_cost_per_mtok, m.cache_write_cost_per_mtok)
        models[name] = ModelEntry(name, m.provider, provider, m.model, price)

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


def compile_route(name: str, r: RouteConfig, models: Mapping[str, ModelEntry], *, org_id: str = DEFAULT_ORG,
                  id: str | None = None) -> RouteEntry:
    """The one route compiler: `bonito.yaml`'s routes and the API's routing policies alike."""
    return RouteEntry(
        name=name, strategy=r.strategy,
        targets=tuple(models[t.model] for t in r.targets),
        weights=tuple(t.weight for t in r.targets),
        retries=r.retries, timeout_s=r.timeout_s, breaker=r.circuit_breaker,
        attempt_timeout_s=r.attempt_timeout_s, rules=tuple(r.rules), smart=r.smart,
        org_id=org_id, id=id, cache=r.cache,
    )


def empty_snapshot(version: int = 0) -> Snapshot:
    return Snapshot(version=version, keys={}, models={}, routes={}, providers={})


def cost_of(model: ModelEntry, prompt_tokens: int, completion_tokens: int) -> Decimal:
    return model.price.cost(prompt_tokens, completion_tokens)
