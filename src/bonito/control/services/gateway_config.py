"""Per-org gateway settings (enabled providers, default limits, default fallbacks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.deps import Principal
from bonito.control.schemas.gateway import GatewayConfigIn
from bonito.control.services import audit
from bonito.control.services.common import bump_version, now
from bonito.store.catalog import GatewayConfigRow


async def get(session: AsyncSession, p: Principal) -> dict[str, Any]:
    row = await session.get(GatewayConfigRow, p.org_id)
    if row is None:
        return {"enabled_providers": None, "default_requests_per_minute": None, "default_fallbacks": [],
                "cache": True, "updated_at": None}
    return {**row.settings, "updated_at": row.updated_at}


async def put(session: AsyncSession, p: Principal, body: GatewayConfigIn) -> dict[str, Any]:
    settings = body.model_dump()
    row = await session.get(GatewayConfigRow, p.org_id)
    if row is None:
        row = GatewayConfigRow(org_id=p.org_id, settings=settings, updated_at=now())
        session.add(row)
    else:
        row.settings, row.updated_at = settings, now()
    await bump_version(session)
    audit.record(session, "gateway_config.update", actor=p, target_type="org", target_id=p.org_id,
                 details=settings)
    await session.commit()
    return {**settings, "updated_at": row.updated_at}
