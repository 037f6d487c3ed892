"""The getting-started checklist, computed from what the org has: each step is done when its object
exists (a provider, a successful validation, a model, a key, a successful call)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.deps import Principal
from bonito.control.playground.service import NAME_PREFIX as PLAYGROUND_KEY
from bonito.store.audit import AuditEvent
from bonito.store.catalog import GatewayKeyRow, ModelRow, ProviderRow
from bonito.store.usage import UsageRow

STEPS = ("provider", "validate", "model", "key", "call")


async def checklist(session: AsyncSession, p: Principal) -> dict[str, Any]:
    org = p.org_id
    provider = await session.scalar(select(ProviderRow.name).where(ProviderRow.org_id == org)
                                    .order_by(ProviderRow.created_at).limit(1))
    checks = (await session.execute(select(AuditEvent.details).where(
        AuditEvent.org_id == org, AuditEvent.action == "provider.validate")
        .order_by(AuditEvent.created_at.desc()).limit(100))).scalars()
    validated = any(isinstance(d, dict) and d.get("ok") is True for d in checks)
    model = await session.scalar(select(ModelRow.name).where(ModelRow.org_id == org, ModelRow.enabled.is_(True))
                                 .order_by(ModelRow.created_at).limit(1))
    # the playground's own short-lived keys and calls do not count: the checklist leads to the user's app
    key = await session.scalar(select(GatewayKeyRow.id).where(
        GatewayKeyRow.org_id == org, GatewayKeyRow.revoked_at.is_(None),
        GatewayKeyRow.name.not_like(f"{PLAYGROUND_KEY}%")).limit(1))
    call = await session.scalar(select(UsageRow.id).where(
        UsageRow.org_id == org, UsageRow.status < 400,
        (UsageRow.key_name.is_(None)) | UsageRow.key_name.not_like(f"{PLAYGROUND_KEY}%")).limit(1))
    done = {"provider": provider is not None, "validate": validated, "model": model is not None,
            "key": key is not None, "call": call is not None}
    return {"steps": [{"id": s, "done": done[s]} for s in STEPS], "complete": all(done.values()),
            "provider": provider, "model": model}
