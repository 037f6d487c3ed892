"""The immutable snapshot the gateway serves from: keys by hash, models, routes, providers, limits.

Everything a request needs is here, so the request path never touches a database. A new snapshot
is built beside the old one by a `SnapshotSource` and swapped atomically (one reference
assignment). This floor imports only config's schema types: the provider protocol is named for the
type checker alone (the snapshot holds provider instances built above it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bonito.config.schema import (
    AlertsConfig,
    BreakerConfig,
    BudgetConfig,
    CacheConfig,
    LimitsConfig,
    OrgConfig,
    RetryConfig,
    RouteRule,
    SmartConfig,
    TierConfig,
)
from bonito.snapshot.price import Price

if TYPE_CHECKING:
    from bonito.providers.base import Provider

TagPairs = tuple[tuple[str, str], ...]  # a key's default attribution tags

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


def empty_snapshot(version: int = 0) -> Snapshot:
    return Snapshot(version=version, keys={}, models={}, routes={}, providers={})
