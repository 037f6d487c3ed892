"""/api/admin: platform admins (ADMIN_EMAILS, or made with `bonito admin create`) see every org."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bonito.config.schema import TierName
from bonito.control.api.guards import Writable
from bonito.control.deps import PlatformAdmin, SessionDep
from bonito.control.schemas.common import ApiModel
from bonito.control.services import orgs

router = APIRouter(prefix="/api/admin", tags=["platform admin"])


class OrgTierIn(ApiModel):
    tier: TierName


@router.get("/orgs")
async def list_orgs(user: PlatformAdmin, session: SessionDep) -> list[dict[str, Any]]:
    return await orgs.list_all(session)


@router.patch("/orgs/{org_id}")
async def set_tier(org_id: str, body: OrgTierIn, user: PlatformAdmin, _w: Writable,
                   session: SessionDep) -> dict[str, Any]:
    """Put an org on the free, pro or enterprise tier (its keys' default limits); audited."""
    return await orgs.set_tier(session, user, org_id, body.tier)
