"""/api/admin: platform admins (ADMIN_EMAILS, or made with `bonito admin create`) see every org."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from bonito.config.schema import TierName
from bonito.control.api.guards import Writable
from bonito.control.deps import CurrentUser, PlatformAdmin, Principal, SessionDep
from bonito.control.errors import NotFound
from bonito.control.schemas.common import ApiModel
from bonito.control.services import orgs

router = APIRouter(prefix="/api/admin", tags=["platform admin"])


class OrgTierIn(ApiModel):
    tier: TierName


async def _platform_admin_or_404(principal: CurrentUser) -> Principal:
    if not principal.is_platform_admin:
        raise NotFound("org")  # to anyone else, no org but their own exists here
    return principal


OrgsAdmin = Annotated[Principal, Depends(_platform_admin_or_404)]


@router.get("/orgs")
async def list_orgs(user: PlatformAdmin, session: SessionDep) -> list[dict[str, Any]]:
    return await orgs.list_all(session)


@router.patch("/orgs/{org_id}")
async def set_tier(org_id: str, body: OrgTierIn, user: OrgsAdmin, _w: Writable,
                   session: SessionDep) -> dict[str, Any]:
    """Put an org on the free, pro or enterprise tier (its keys' default limits); audited."""
    return await orgs.set_tier(session, user, org_id, body.tier)
