"""Governance logic behind the API: org limits, budgets (with spend so far), alert rules, webhooks."""

from __future__ import annotations

import secrets as token_source
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.alerts.webhook import post_webhook
from bonito.config.schema import TierConfig
from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.errors import Conflict, Invalid, NotFound
from bonito.control.governance.schemas import (
    AlertRuleIn,
    AlertRulePatch,
    BudgetIn,
    BudgetPatch,
    LimitsIn,
    WebhookIn,
)
from bonito.control.services import audit
from bonito.control.services.common import aware, bump_version, get_scoped, new_id
from bonito.limits.periods import period_end, period_start
from bonito.limits.policy import BUILTIN_TIERS
from bonito.store.accounts import Org
from bonito.store.catalog import GatewayKeyRow
from bonito.store.governance import AlertRuleRow, AlertWebhookRow, BudgetRow, OrgLimitsRow
from bonito.store.usage import UsageRow
from bonito.usage.tags import pairs, tag_id


def _now() -> datetime:
    return datetime.now(UTC)


async def limits(session: AsyncSession, ctx: ControlContext, user: Principal) -> dict[str, Any]:
    org = await session.get(Org, user.org_id)
    snap = ctx.get_snapshot()
    tier = (org.tier if org else None) or snap.default_tier
    defaults = snap.tiers.get(tier) or BUILTIN_TIERS.get(tier) or TierConfig()
    row = await session.get(OrgLimitsRow, user.org_id)
    return {"org_id": user.org_id, "tier": tier,
            "requests_per_minute": row.requests_per_minute if row else None,
            "tokens_per_minute": row.tokens_per_minute if row else None,
            "tier_requests_per_minute": defaults.requests_per_minute,
            "tier_tokens_per_minute": defaults.tokens_per_minute}


async def set_limits(session: AsyncSession, ctx: ControlContext, user: Principal, body: LimitsIn) -> dict[str, Any]:
    row = await session.get(OrgLimitsRow, user.org_id)
    if row is None:
        row = OrgLimitsRow(org_id=user.org_id)
        session.add(row)
    row.requests_per_minute, row.tokens_per_minute = body.requests_per_minute, body.tokens_per_minute
    row.updated_at = _now()
    await bump_version(session)
    audit.record(session, "limits.update", actor=user, target_type="org", target_id=user.org_id,
                 details={"requests_per_minute": body.requests_per_minute,
                          "tokens_per_minute": body.tokens_per_minute})
    await session.commit()
    return await limits(session, ctx, user)


async def _spent(session: AsyncSession, row: BudgetRow, start: datetime) -> Decimal:
    q = select(func.sum(UsageRow.cost_usd)).where(UsageRow.org_id == row.org_id, UsageRow.created_at >= start)
    if row.key_id:
        q = q.where(UsageRow.key_id == row.key_id)
    for k, v in (row.tag or {}).items():
        q = q.where(UsageRow.tags[k].as_string() == v)
    return Decimal(await session.scalar(q) or 0)


async def budget_view(session: AsyncSession, row: BudgetRow) -> dict[str, Any]:
    at = _now()
    start = period_start(row.period, at)
    spent = await _spent(session, row, start)
    throttle = ({"at_percent": row.throttle_at_percent, "requests_per_minute": row.throttle_requests_per_minute}
                if row.throttle_requests_per_minute else None)
    return {"id": row.id, "scope": "key" if row.key_id else "org", "key_id": row.key_id, "usd": str(row.usd),
            "period": row.period, "hard": row.hard, "throttle": throttle, "tag": row.tag or None,
            "spent_usd": str(spent),
            "percent_used": float(spent * 100 / row.usd) if row.usd else 0.0, "period_start": start,
            "resets_at": period_end(row.period, at), "created_at": aware(row.created_at)}


async def list_budgets(session: AsyncSession, user: Principal) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(BudgetRow).where(BudgetRow.org_id == user.org_id)
                                  .order_by(BudgetRow.created_at))).all()
    return [await budget_view(session, r) for r in rows]


async def create_budget(session: AsyncSession, user: Principal, body: BudgetIn) -> dict[str, Any]:
    if body.key_id is not None:
        try:
            await get_scoped(session, GatewayKeyRow, user.org_id, body.key_id, "key")
        except NotFound:
            raise Invalid("key_id", "no such key in this organization") from None
    scope_key = f"key:{body.key_id}" if body.key_id else "org"
    if body.tag:  # one budget per tag value in a scope
        scope_key += f"#{tag_id(pairs(body.tag))}"
    exists = await session.scalar(select(BudgetRow.id).where(BudgetRow.org_id == user.org_id,
                                                             BudgetRow.scope_key == scope_key))
    if exists:
        raise Conflict("this scope already has a budget: delete it first")
    row = BudgetRow(id=new_id("bud"), org_id=user.org_id, key_id=body.key_id, scope_key=scope_key, usd=body.usd,
                    period=body.period, hard=body.hard,
                    throttle_at_percent=body.throttle.at_percent if body.throttle else None,
                    throttle_requests_per_minute=body.throttle.requests_per_minute if body.throttle else None,
                    tag=body.tag or None, created_at=_now())
    session.add(row)
    await bump_version(session)
    audit.record(session, "budget.create", actor=user, target_type="budget", target_id=row.id,
                 details={"scope": scope_key, "usd": str(body.usd), "period": body.period, "hard": body.hard})
    await session.commit()
    return await budget_view(session, row)


async def update_budget(session: AsyncSession, user: Principal, budget_id: str, body: BudgetPatch) -> dict[str, Any]:
    row = await get_scoped(session, BudgetRow, user.org_id, budget_id, "budget")
    changed = body.model_dump(exclude_none=True, exclude_defaults=True, mode="json")
    if body.usd is not None:
        row.usd = body.usd
    if body.hard is not None:
        row.hard = body.hard
    if body.throttle is not None:
        row.throttle_at_percent = body.throttle.at_percent
        row.throttle_requests_per_minute = body.throttle.requests_per_minute
    elif body.remove_throttle:
        row.throttle_at_percent = row.throttle_requests_per_minute = None
    await bump_version(session)
    audit.record(session, "budget.update", actor=user, target_type="budget", target_id=row.id, details=changed)
    await session.commit()
    return await budget_view(session, row)


def rule_view(row: AlertRuleRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "kind": row.kind, "threshold": row.threshold,
            "window_minutes": row.window_minutes, "min_requests": row.min_requests, "channels": row.channels,
            "enabled": row.enabled, "created_at": aware(row.created_at)}


async def create_rule(session: AsyncSession, user: Principal, body: AlertRuleIn) -> dict[str, Any]:
    row = AlertRuleRow(id=new_id("rule"), org_id=user.org_id, name=body.name, kind=body.kind,
                       threshold=body.threshold, window_minutes=body.window_minutes,
                       min_requests=body.min_requests, channels=sorted(set(body.channels)),
                       enabled=body.enabled, created_at=_now())
    session.add(row)
    await bump_version(session)
    audit.record(session, "alert_rule.create", actor=user, target_type="alert_rule", target_id=row.id,
                 details={"kind": body.kind, "threshold": body.threshold, "enabled": body.enabled})
    await session.commit()
    return rule_view(row)


async def update_rule(session: AsyncSession, user: Principal, rule_id: str, body: AlertRulePatch) -> dict[str, Any]:
    row = await get_scoped(session, AlertRuleRow, user.org_id, rule_id, "alert rule")
    if body.enabled is not None:
        row.enabled = body.enabled
    if body.threshold is not None:
        row.threshold = body.threshold
    if body.channels is not None:
        row.channels = sorted(set(body.channels))
    await bump_version(session)
    audit.record(session, "alert_rule.update", actor=user, target_type="alert_rule", target_id=row.id,
                 details=body.model_dump(exclude_none=True))
    await session.commit()
    return rule_view(row)


async def create_webhook(session: AsyncSession, ctx: ControlContext, user: Principal,
                         body: WebhookIn) -> dict[str, Any]:
    secret = body.secret or f"whsec_{token_source.token_urlsafe(32)}"
    row_id = new_id("hook")
    ref = await ctx.secrets.put(f"webhooks/{row_id}", secret.encode())
    row = AlertWebhookRow(id=row_id, org_id=user.org_id, url=str(body.url), secret_ref=ref, created_at=_now())
    session.add(row)
    # no URL in the log: webhook URLs often carry their own token
    audit.record(session, "webhook.create", actor=user, target_type="alert_webhook", target_id=row.id)
    await session.commit()
    return {"id": row.id, "url": row.url, "created_at": row.created_at, "secret": secret}


async def test_webhook(session: AsyncSession, ctx: ControlContext, user: Principal, webhook_id: str) -> dict[str, Any]:
    """Send a signed `alert.test` event to the webhook now, once, and say whether it was accepted (2xx)."""
    row = await get_scoped(session, AlertWebhookRow, user.org_id, webhook_id, "webhook")
    secret = (await ctx.secrets.get(f"webhooks/{row.id}", row.secret_ref)).decode()
    payload = {"id": new_id("test"), "type": "alert.test", "org_id": user.org_id, "created_at": _now().isoformat(),
               "title": "Test event from Bonito",
               "message": "This webhook is set up: alerts will arrive here signed the same way.", "data": {}}
    async with aiohttp.ClientSession() as http:
        try:
            await post_webhook(http, row.url, secret, payload, "alert.test", attempts=1)
        except RuntimeError as exc:
            return {"delivered": False, "error": str(exc)}
    return {"delivered": True, "error": None}
