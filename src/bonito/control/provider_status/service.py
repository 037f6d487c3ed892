"""Provider status for the dashboard: the last validation (from the audit log, where every validation
is recorded), how many models each provider publishes, and a live `health()` probe of one provider."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.services.common import aware, get_scoped, now
from bonito.control.services.providers import load_config
from bonito.providers.registry import build_provider
from bonito.store.audit import AuditEvent
from bonito.store.catalog import ModelRow, ProviderRow

log = logging.getLogger("bonito.control")
HEALTH_TIMEOUT_S = 10.0


async def statuses(session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
    providers = (await session.execute(select(ProviderRow.id).where(ProviderRow.org_id == p.org_id)
                                       .order_by(ProviderRow.created_at))).scalars().all()
    counts = dict((await session.execute(
        select(ModelRow.provider_id, func.count()).where(ModelRow.org_id == p.org_id, ModelRow.enabled.is_(True))
        .group_by(ModelRow.provider_id))).tuples().all())
    last: dict[str, AuditEvent] = {}
    events = (await session.execute(select(AuditEvent).where(
        AuditEvent.org_id == p.org_id, AuditEvent.action == "provider.validate",
        AuditEvent.target_id.in_(providers)).order_by(AuditEvent.created_at.desc()))).scalars()
    for e in events:
        if e.target_id is not None:
            last.setdefault(e.target_id, e)
    out = []
    for pid in providers:
        seen = last.get(pid)
        validation = None if seen is None else {"at": aware(seen.created_at),
                                                "ok": bool((seen.details or {}).get("ok"))}
        out.append({"id": pid, "published_models": int(counts.get(pid, 0)), "last_validation": validation})
    return out


async def health(ctx: ControlContext, session: AsyncSession, p: Principal, provider_id: str) -> dict[str, Any]:
    """Whether the provider's upstream answers now (its adapter's `health()`), within 10 s."""
    row = await get_scoped(session, ProviderRow, p.org_id, provider_id, "provider")
    try:
        adapter = build_provider(row.id, await load_config(ctx, row))
    except Exception as exc:  # unreadable credentials are an unhealthy provider, not a 500
        return {"id": row.id, "healthy": False, "checked_at": now(),
                "message": f"the stored credentials cannot be read ({type(exc).__name__})"}
    try:
        healthy = bool(await asyncio.wait_for(adapter.health(), HEALTH_TIMEOUT_S))
        message = "the provider answers" if healthy else "the provider does not answer"
    except TimeoutError:
        healthy, message = False, f"no answer within {HEALTH_TIMEOUT_S:.0f} s"
    except Exception as exc:
        log.warning("provider %s health check raised %s", row.id, type(exc).__name__)
        healthy, message = False, f"health check failed ({type(exc).__name__})"
    finally:
        await adapter.aclose()
    return {"id": row.id, "healthy": healthy, "checked_at": now(), "message": message}
