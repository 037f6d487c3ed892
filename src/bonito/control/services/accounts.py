"""Register, log in, rotate and revoke refresh tokens; the current user."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.errors import Conflict, TooManyRequests, Unauthorized
from bonito.control.schemas.auth import LoginIn, RegisterIn
from bonito.control.security import (
    REFRESH_TTL_S,
    hash_password,
    hash_token,
    new_refresh_token,
    verify_password,
)
from bonito.control.services import audit, throttle
from bonito.control.services.common import aware, new_id, now
from bonito.store.accounts import Membership, Org, RefreshToken, User

LOGIN_FAILED = "Incorrect email or password"
REFRESH_FAILED = "Invalid refresh token"


async def create_user_and_org(session: AsyncSession, email: str, password: str, org_name: str,
                              *, org_id: str | None = None, platform_admin: bool = False,
                              tier: str = "enterprise") -> tuple[User, Org]:
    """A user who is admin of a new org on `tier` (or of `org_id` when it exists). Caller commits."""
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists")
    user = User(id=new_id("usr"), email=email, password_hash=await hash_password(password),
                is_platform_admin=platform_admin, is_active=True, created_at=now())
    org = await session.get(Org, org_id) if org_id else None
    if org is None:
        org = Org(id=org_id or new_id("org"), name=org_name, tier=tier, created_at=now())
        session.add(org)
    session.add(user)
    await session.flush()
    session.add(Membership(id=new_id("mem"), org_id=org.id, user_id=user.id, role="admin", created_at=now()))
    return user, org


async def issue_tokens(ctx: ControlContext, session: AsyncSession, user_id: str, org_id: str,
                       family_id: str | None = None) -> dict[str, Any]:
    """Access and refresh tokens for a user in an org (a new refresh family unless one is given)."""
    refresh = new_refresh_token()
    session.add(RefreshToken(
        id=new_id("rtk"), token_hash=hash_token(refresh), family_id=family_id or new_id("fam"),
        user_id=user_id, org_id=org_id, created_at=now(), expires_at=now() + timedelta(seconds=REFRESH_TTL_S)))
    return {"access_token": ctx.tokens.issue(user_id, org_id), "refresh_token": refresh, "token_type": "bearer"}


async def register(ctx: ControlContext, session: AsyncSession, body: RegisterIn, ip: str) -> dict[str, Any]:
    # a self-hosted install puts new orgs on bonito.yaml's `default_tier`
    user, org = await create_user_and_org(session, body.email, body.password, body.org_name,
                                          tier=ctx.get_snapshot().default_tier)
    tokens = await issue_tokens(ctx, session, user.id, org.id)
    audit.record(session, "auth.register", org_id=org.id, actor_id=user.id, actor_email=user.email, ip=ip,
                 target_type="org", target_id=org.id)
    await session.commit()
    return {**tokens, "user": {"id": user.id, "email": user.email, "org_id": org.id, "role": "admin",
                               "is_platform_admin": _platform_admin(ctx, user),
                               "orgs": [{"id": org.id, "name": org.name, "role": "admin"}]},
            "org": {"id": org.id, "name": org.name, "role": "admin"}}


async def login(ctx: ControlContext, session: AsyncSession, body: LoginIn, ip: str) -> dict[str, Any]:
    email = body.email.strip().lower()[:254]
    if await throttle.is_throttled(session, email, ip, ctx.login_max_failures_account,
                                   ctx.login_max_failures_ip):
        raise TooManyRequests("Too many failed login attempts; try again later", {"Retry-After": "900"})
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    ok = await verify_password(user.password_hash if user else None, body.password)
    membership = None
    if ok and user is not None and user.is_active:
        q = select(Membership).where(Membership.user_id == user.id)
        if body.org_id:
            q = q.where(Membership.org_id == body.org_id)
        membership = (await session.execute(q.order_by(Membership.created_at, Membership.id).limit(1))
                      ).scalar_one_or_none()
    if user is None or membership is None:
        await throttle.record_failure(session, email, ip)
        audit.record(session, "auth.login_failed", org_id=None, actor_email=email, ip=ip)
        await session.commit()
        raise Unauthorized(LOGIN_FAILED)
    tokens = await issue_tokens(ctx, session, user.id, membership.org_id)
    audit.record(session, "auth.login", org_id=membership.org_id, actor_id=user.id, actor_email=user.email, ip=ip)
    await session.commit()
    return tokens


async def refresh(ctx: ControlContext, session: AsyncSession, token: str, ip: str) -> dict[str, Any]:
    row = (await session.execute(select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)))
           ).scalar_one_or_none()
    if row is None:
        raise Unauthorized(REFRESH_FAILED)
    if row.retired_at is not None or row.revoked_at is not None:
        if row.retired_at is not None and row.revoked_at is None:
            # a retired token came back: it was stolen or replayed; end the whole family
            await _revoke_family(session, row.family_id)
            audit.record(session, "auth.refresh_reuse", org_id=row.org_id, actor_id=row.user_id, ip=ip)
            await session.commit()
        raise Unauthorized(REFRESH_FAILED)
    expires = aware(row.expires_at)
    if expires is None or expires <= now():
        raise Unauthorized(REFRESH_FAILED)
    # retire atomically: of two concurrent refreshes with one token, one wins
    done = await session.execute(update(RefreshToken)
                                 .where(RefreshToken.id == row.id, RefreshToken.retired_at.is_(None),
                                        RefreshToken.revoked_at.is_(None))
                                 .values(retired_at=now()))
    if getattr(done, "rowcount", 1) != 1:
        await session.rollback()
        raise Unauthorized(REFRESH_FAILED)
    member = await session.scalar(select(Membership.id).where(Membership.user_id == row.user_id,
                                                              Membership.org_id == row.org_id))
    user = await session.get(User, row.user_id)
    if member is None or user is None or not user.is_active:
        await session.commit()
        raise Unauthorized(REFRESH_FAILED)
    tokens = await issue_tokens(ctx, session, row.user_id, row.org_id, row.family_id)
    await session.commit()
    return tokens


async def _revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(update(RefreshToken).where(RefreshToken.family_id == family_id,
                                                     RefreshToken.revoked_at.is_(None))
                          .values(revoked_at=now()))


async def logout(session: AsyncSession, token: str, ip: str) -> None:
    """Revoke the token and its family (idempotent; an unknown token is not an error)."""
    row = (await session.execute(select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)))
           ).scalar_one_or_none()
    if row is None:
        return
    await _revoke_family(session, row.family_id)
    audit.record(session, "auth.logout", org_id=row.org_id, actor_id=row.user_id, ip=ip)
    await session.commit()


def _platform_admin(ctx: ControlContext, user: User) -> bool:
    return user.is_platform_admin or user.email in ctx.settings.admin_emails


async def me(session: AsyncSession, p: Principal) -> dict[str, Any]:
    rows = (await session.execute(
        select(Org.id, Org.name, Membership.role).join(Membership, Membership.org_id == Org.id)
        .where(Membership.user_id == p.user_id).order_by(Membership.created_at))).all()
    return {"id": p.user_id, "email": p.email, "org_id": p.org_id, "role": p.role,
            "is_platform_admin": p.is_platform_admin,
            "orgs": [{"id": oid, "name": name, "role": role} for oid, name, role in rows]}
