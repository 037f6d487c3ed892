"""What an org's VPC agent pulls: its keys (as hashes), models, routes, limits, budgets and the
spend recorded so far, as one JSON document. Never a credential: providers go by id, name and
type only; the agent brings its own credentials.

The ETag is a hash of the document, so anything that changes what the agent would serve (a
key revoked, spend recorded elsewhere) gives a new one, and nothing else does.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.services import policy_config
from bonito.control.services.common import aware, now
from bonito.limits.base import to_pico
from bonito.limits.periods import period_id, period_start
from bonito.store.accounts import Org
from bonito.store.catalog import (
    ControlState,
    GatewayConfigRow,
    GatewayKeyRow,
    ModelRow,
    ProviderRow,
    RoutingPolicyRow,
)
from bonito.store.governance import AlertRuleRow, BudgetRow, OrgLimitsRow
from bonito.store.usage import UsageRow

FORMAT = 1


async def agent_config(session: AsyncSession, org_id: str) -> tuple[bytes, str]:
    """The org's config document (JSON bytes) and its ETag."""
    doc = await _document(session, org_id)
    body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def _document(session: AsyncSession, org_id: str) -> dict[str, Any]:
    version = int(await session.scalar(select(ControlState.version).where(ControlState.id == 1)) or 0)
    org = await session.get(Org, org_id)
    gw = await session.get(GatewayConfigRow, org_id)
    settings = (gw.settings if gw else None) or {}
    enabled = settings.get("enabled_providers")

    providers: dict[str, dict[str, str]] = {}
    for p in (await session.scalars(select(ProviderRow).where(ProviderRow.org_id == org_id))).all():
        if enabled is None or p.id in enabled or p.name in enabled:
            providers[p.id] = {"name": p.name, "type": p.type}

    models: dict[str, dict[str, Any]] = {}
    for m in (await session.scalars(select(ModelRow).where(
            ModelRow.org_id == org_id, ModelRow.enabled.is_(True)))).all():
        if m.provider_id in providers:
            models[m.name] = {"provider": m.provider_id, "model": m.upstream_model,
                              "input_cost_per_mtok": _dec(m.input_cost_per_mtok),
                              "output_cost_per_mtok": _dec(m.output_cost_per_mtok)}

    routes: dict[str, dict[str, Any]] = {}
    for r in (await session.scalars(select(RoutingPolicyRow).where(RoutingPolicyRow.org_id == org_id))).all():
        try:  # every field of the route (rules, smart, cache, ...), as the shared gateway serves it
            fields = policy_config.read(r).model_dump(mode="json", exclude={"key"})
        except ValidationError:
            continue  # the database source logs and skips it too
        routes[r.name] = {"id": r.id, "key_sha256": r.key_hash, **fields}

    t = now()
    keys = []
    for k in (await session.scalars(select(GatewayKeyRow).where(
            GatewayKeyRow.org_id == org_id, GatewayKeyRow.revoked_at.is_(None)))).all():
        expires = aware(k.expires_at)
        if expires is not None and expires <= t:
            continue
        keys.append({"id": k.id, "name": k.name, "key_sha256": k.key_hash,
                     "requests_per_minute": k.requests_per_minute or settings.get("default_requests_per_minute"),
                     "tokens_per_minute": k.tokens_per_minute, "allowed_models": k.allowed_models,
                     "expires_at": expires.isoformat() if expires else None, "cache": k.cache,
                     "tags": k.tags or None})
    keys.sort(key=lambda k: k["id"])

    limits = await session.get(OrgLimitsRow, org_id)
    budgets = [{"key_id": b.key_id, "usd": _dec(b.usd), "period": b.period, "hard": b.hard,
                "throttle_at_percent": b.throttle_at_percent,
                "throttle_requests_per_minute": b.throttle_requests_per_minute,
                "spend_pico": await _spend(session, org_id, b.key_id, b.period, t)}
               for b in (await session.scalars(select(BudgetRow).where(BudgetRow.org_id == org_id))).all()]
    budgets.sort(key=lambda b: str(b["key_id"]))
    thresholds = sorted({r.threshold for r in (await session.scalars(select(AlertRuleRow).where(
        AlertRuleRow.org_id == org_id, AlertRuleRow.kind == "budget", AlertRuleRow.enabled.is_(True)))).all()})
    return {
        "format": FORMAT, "version": version, "org_id": org_id, "tier": org.tier if org else None,
        "providers": providers, "models": models, "routes": routes, "keys": keys,
        "cache": settings.get("cache") is not False, "tag_keys": sorted(settings.get("tags") or ()),
        "org_limits": {"requests_per_minute": limits.requests_per_minute if limits else None,
                       "tokens_per_minute": limits.tokens_per_minute if limits else None},
        "budgets": budgets, "budget_alert_thresholds": thresholds,
    }


async def _spend(session: AsyncSession, org_id: str, key_id: str | None, period: str, at: datetime) -> dict[str, Any]:
    """Spend recorded in the budget's current period (every gateway and agent), in picodollars."""
    column = UsageRow.key_id if key_id else UsageRow.org_id
    start = period_start(period, at.astimezone(UTC))
    total = await session.scalar(select(func.sum(UsageRow.cost_usd)).where(
        UsageRow.org_id == org_id, column == (key_id or org_id), UsageRow.created_at >= start))
    return {"period_id": period_id(period, at.astimezone(UTC)), "pico": to_pico(total) if total else 0}


def _dec(value: Any) -> str | None:
    return None if value is None else str(value)
