"""An org's members and their roles (admins change them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.deps import Principal
from bonito.control.errors import Conflict, Invalid, NotFound
from bonito.control.schemas.auth import MemberIn
from bonito.control.schemas.common import ID_RE
from bonito.control.security import hash_password
from bonito.control.services import audit
from bonito.control.services.common import new_id, now
from bonito.store.accounts import Membership, Org, User


def _out(m: Membership, email: str) -> dict[str, Any]:
    return {"id": m.user_id, "user_id": m.user_id, "email": email, "role": m.role, "created_at": m.created_at}


async def org(session: AsyncSession, p: Principal) -> dict[str, Any]:
    o = await session.get(Org, p.org_id)
    if o is None:
        raise NotFound("org")
    return {"id": o.id, "name": o.name, "tier": o.tier, "created_at": o.created_at, "role": p.role}


async def list_members(session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
    rows = (await session.execute(select(Membership, User.email).join(User, User.id == Membership.user_id)
                                  .where(Membership.org_id == p.org_id).order_by(Membership.created_at))).all()
    return [_out(m, email) for m, email in rows]


async def add_member(session: AsyncSession, p: Principal, body: MemberIn) -> dict[str, Any]:
    user = (await session.execute(select(User).where(User.email == body.email))).scalar_one_or_none()
    if user is None:
        if body.password is None:
            raise Invalid("password", "required to create a new user")
        user = User(id=new_id("usr"), email=body.email, password_hash=await hash_password(body.password),
                    is_platform_admin=False, is_active=True, created_at=now())
        session.add(user)
        await session.flush()
    elif await session.scalar(select(Membership.id).where(Membership.user_id == user.id,
                                                          Membership.org_id == p.org_id)):
        raise Conflict("this user is already a member")
    m = Membership(id=new_id("mem"), org_id=p.org_id, user_id=user.id, role=body.role, created_at=now())
    session.add(m)
    audit.record(session, "member.add", actor=p, target_type="user", target_id=user.id,
                 details={"email": user.email, "role": body.role})
    await session.commit()
    return _out(m, user.email)


async def _membership(session: AsyncSession, p: Principal, user_id: str) -> tuple[Membership, str]:
    if not ID_RE.match(user_id):
        raise NotFound("member")
    row = (await session.execute(select(Membership, User.email).join(User, User.id == Membership.user_id)
                                 .where(Membership.org_id == p.org_id, Membership.user_id == user_id))).first()
    if row is None:
        raise NotFound("member")
    return row[0], row[1]


async def _last_admin(session: AsyncSession, org_id: str, m: Membership) -> bool:
    admins = await session.scalar(select(func.count()).select_from(Membership)
                                  .where(Membership.org_id == org_id, Membership.role == "admin"))
    return m.role == "admin" and (admins or 0) <= 1


async def set_role(session: AsyncSession, p: Principal, user_id: str, role: str) -> dict[str, Any]:
    m, email = await _membership(session, p, user_id)
    if role != "admin" and await _last_admin(session, p.org_id, m):
        raise Conflict("an org keeps at least one admin")
    old = m.role
    m.role = role
    audit.record(session, "member.role_change", actor=p, target_type="user", target_id=user_id,
                 details={"from": old, "to": role})
    await session.commit()
    return _out(m, email)


async def remove_member(session: AsyncSession, p: Principal, user_id: str) -> None:
    m, _ = await _membership(session, p, user_id)
    if await _last_admin(session, p.org_id, m):
        raise Conflict("an org keeps at least one admin")
    await session.delete(m)
    audit.record(session, "member.remove", actor=p, target_type="user", target_id=user_id)
    await session.commit()
