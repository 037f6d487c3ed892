"""/api/admin: platform admins (ADMIN_EMAILS, or made with `bonito admin create`) see every org."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select

from bonito.control.deps import PlatformAdmin, SessionDep
from bonito.store.accounts import Membership, Org

router = APIRouter(prefix="/api/admin", tags=["platform admin"])


@router.get("/orgs")
async def list_orgs(user: PlatformAdmin, session: SessionDep) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(Org, func.count(Membership.id)).outerjoin(Membership, Membership.org_id == Org.id)
        .group_by(Org.id).order_by(Org.created_at))).all()
    return [{"id": o.id, "name": o.name, "tier": o.tier, "created_at": o.created_at, "members": int(n)}
            for o, n in rows]
