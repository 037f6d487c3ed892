"""Platform administration of orgs: every org listed, and its tier (which sets its default limits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.config.schema import TierName
from bonito.control.deps import Principal
from bonito.control.errors import NotFound
from bonito.control.schemas.common import ID_RE
from bonito.control.services import audit
from bonito.control.services.common import bump_version
from bonito.store.accounts import Membership, Org


async def list_all(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(Org, func.count(Membership.id)).outerjoin(Membership, Membership.org_id == Org.id)
        .group_by(Org.id).order_by(Org.created_at))).all()
    return [_as_dict(o, int(n)) for o, n in rows]


async def set_tier(session: AsyncSession, p: Principal, org_id: str, tier: TierName) -> dict[str, Any]:
    """Put an org on a tier; its keys' limits follow on every replica within the snapshot poll."""
    org = await session.get(Org, org_id) if ID_RE.match(org_id) else None
    if org is None:
        raise NotFound("org")
    before = org.tier
    org.tier = tier
    await bump_version(session)  # the tier is compiled into each key of the snapshot
    audit.record(session, "org.tier", actor=p, org_id=org.id, target_type="org", target_id=org.id,
                 details={"from": before, "to": tier})
    await session.commit()
    members = await session.scalar(select(func.count(Membership.id)).where(Membership.org_id == org.id))
    return _as_dict(org, int(members or 0))


def _as_dict(o: Org, members: int) -> dict[str, Any]:
    return {"id": o.id, "name": o.name, "tier": o.tier, "created_at": o.created_at, "members": members}
