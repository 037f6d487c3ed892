"""The pulled config document (see `bonito.control.services.agent_config`) plus the agent's own
provider credentials, compiled into the gateway's `Snapshot` and the limiter's overlay.

Providers are matched by name to the `providers:` of the agent's `--config` (then by id); one
that is not there is built from its type alone, so the cloud's default credential chain applies
(e.g. Bedrock's AWS chain). A provider that cannot be built is left out and reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bonito.config.schema import (
    BonitoConfig,
    BudgetConfig,
    OrgConfig,
    ProviderConfig,
    RouteConfig,
    ThrottleConfig,
)
from bonito.gateway.compile import model_entry, provider_for
from bonito.providers.base import Provider
from bonito.snapshot import (
    KeyEntry,
    KeyLimits,
    ModelEntry,
    Overlay,
    RouteEntry,
    Snapshot,
    compile_route,
    key_scope,
)
from bonito.usage.tags import pairs

_PROVIDER: TypeAdapter[Any] = TypeAdapter(ProviderConfig)


class ConfigRejected(Exception):
    """A pulled config the agent cannot apply; the old one keeps serving."""


@dataclass(frozen=True, slots=True)
class AgentConfig:
    snapshot: Snapshot
    overlay: Overlay  # with the spend recorded elsewhere (`recorded`)
    version: str  # what heartbeats report
    problems: tuple[str, ...] = ()
    next_expiry: datetime | None = None
    provider_names: Mapping[str, str] = dataclasses.field(default_factory=dict)  # id -> the org's name


def compile_document(doc: Any, local: BonitoConfig, etag: str | None,
                     reuse: Snapshot | None = None) -> AgentConfig:
    """Raises ConfigRejected when the document is not one this agent understands."""
    try:
        return _compile(doc, local, etag, reuse)
    except ConfigRejected:
        raise
    except (KeyError, TypeError, ValueError, ValidationError, AttributeError) as exc:
        raise ConfigRejected(f"unusable config from the control plane: {type(exc).__name__}: {exc}") from None


def _compile(doc: Any, local: BonitoConfig, etag: str | None, reuse: Snapshot | None) -> AgentConfig:
    if not isinstance(doc, dict) or doc.get("format") != 1:
        raise ConfigRejected("unknown config format from the control plane (is the agent older than it?)")
    org_id = str(doc["org_id"])
    tier = doc.get("tier")
    problems: list[str] = []

    providers: dict[str, Provider] = {}
    for pid, p in doc["providers"].items():
        try:
            cfg = _provider_config(p, pid, local)
        except (ValidationError, ValueError) as exc:
            problems.append(f"provider {p['name']}: no usable local config ({_first(exc)})")
            continue
        providers[pid] = provider_for(pid, cfg, reuse)

    models: dict[str, ModelEntry] = {}
    for name, m in doc["models"].items():
        provider = providers.get(m["provider"])
        if provider is None:
            continue
        models[name] = model_entry(name, m["provider"], provider, m["model"],
                                   input_cost=_dec(m.get("input_cost_per_mtok")),
                                   output_cost=_dec(m.get("output_cost_per_mtok")), org_id=org_id)

    routes: dict[str, RouteEntry] = {}
    keys: dict[str, KeyEntry] = {}
    for name, r in doc["routes"].items():
        targets = [t for t in r["targets"] if t["model"] in models]
        if not targets:
            problems.append(f"route {name}: no servable target")
            continue
        try:
            rc = RouteConfig.model_validate({k: v for k, v in r.items() if k not in ("id", "key_sha256")}
                                            | {"targets": targets})
        except ValidationError as exc:  # e.g. A/B weights that no longer add up without a missing target
            problems.append(f"route {name}: not served ({_first(exc)})")
            continue
        routes[name] = dataclasses.replace(compile_route(name, rc, models), org_id=org_id, id=r.get("id"))
        if r.get("key_sha256"):
            keys[r["key_sha256"]] = KeyEntry(id=r.get("id") or name, name=f"route:{name}", org_id=org_id,
                                             key_hash=r["key_sha256"], route=name, tier=tier)

    # a key may name its providers by id or by the org's name for them
    provider_ids = {pid: pid for pid in doc["providers"]} | {str(p["name"]): pid for pid, p in doc["providers"].items()}
    now = datetime.now(UTC)
    next_expiry: datetime | None = None
    for k in doc["keys"]:
        expires = datetime.fromisoformat(k["expires_at"]) if k.get("expires_at") else None
        if expires is not None:
            if expires <= now:
                continue
            next_expiry = expires if next_expiry is None else min(next_expiry, expires)
        allowed, allowed_providers = key_scope(k.get("allowed_models"), provider_ids)
        keys[k["key_sha256"]] = KeyEntry(
            id=k["id"], name=k["name"], org_id=org_id, key_hash=k["key_sha256"],
            requests_per_minute=k.get("requests_per_minute"), tokens_per_minute=k.get("tokens_per_minute"),
            allowed_models=allowed, allowed_providers=allowed_providers, tier=tier,
            cache=k.get("cache") is not False, tags=pairs(k.get("tags")))

    # the response cache lives in the agent (prompts stay in the network): its own --config turns it on,
    # the org's switch can turn it off
    snap = Snapshot(version=int(doc.get("version") or 0), keys=keys, models=models, routes=routes,
                    providers=providers, limits=local.limits, redis_url=local.redis_url,
                    default_tier=tier or "enterprise", source="agent", cache=local.cache,
                    cache_off_orgs=frozenset() if doc.get("cache", True) else frozenset({org_id}),
                    tag_keys={org_id: frozenset(doc.get("tag_keys") or ())})
    return AgentConfig(snap, _governance(doc, org_id), version=f"{doc.get('version')}:{(etag or '').strip(chr(34))[:12]}",
                       problems=tuple(problems), next_expiry=next_expiry,
                       provider_names={pid: str(p["name"]) for pid, p in doc["providers"].items()})


def _provider_config(p: Mapping[str, Any], pid: str, local: BonitoConfig) -> Any:
    cfg = local.providers.get(p["name"]) or local.providers.get(pid)
    if cfg is None:
        return _PROVIDER.validate_python({"type": p["type"]})  # the cloud's default chain
    if cfg.type != p["type"]:
        raise ValueError(f"local type {cfg.type} is not the org's {p['type']}")
    return cfg


def _governance(doc: Mapping[str, Any], org_id: str) -> Overlay:
    lim = doc.get("org_limits") or {}
    org = OrgConfig(requests_per_minute=lim.get("requests_per_minute"),
                    tokens_per_minute=lim.get("tokens_per_minute"))
    keys: dict[str, KeyLimits] = {}
    spend: dict[tuple[str, str, str], int] = {}
    for b in doc.get("budgets") or []:
        throttle = None
        if b.get("throttle_requests_per_minute"):
            throttle = ThrottleConfig(at_percent=b.get("throttle_at_percent") or 90,
                                      requests_per_minute=b["throttle_requests_per_minute"])
        cfg = BudgetConfig.model_validate({"usd": b["usd"], "period": b["period"], "hard": b["hard"],
                                           "throttle": throttle})
        recorded = b.get("spend_pico") or {}
        if b.get("key_id"):
            keys[b["key_id"]] = KeyLimits(budget=cfg)
            spend[("key", b["key_id"], str(recorded.get("period_id")))] = int(recorded.get("pico") or 0)
        else:
            org = org.model_copy(update={"budget": cfg})
            spend[("org", org_id, str(recorded.get("period_id")))] = int(recorded.get("pico") or 0)
    thresholds = tuple(float(t) for t in doc.get("budget_alert_thresholds") or ())
    return Overlay({org_id: org}, keys, {org_id: thresholds} if thresholds else {}, recorded=spend)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        return f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
    return str(exc)
