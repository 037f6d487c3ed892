"""Invitations: an admin invites an email with a role; the invitee accepts with the token and a password.

The token is shown once (like a gateway key) and kept as a SHA-256 hash. A new email becomes a user
with the password given; an existing account proves itself with its own password. Inviting an email
again replaces its pending invitation.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthorized
from bonito.control.schemas.auth import AcceptInviteIn, InviteIn
from bonito.control.schemas.common import ID_RE
from bonito.control.security import hash_password, hash_token, verify_password
from bonito.control.services import audit, throttle
from bonito.control.services.accounts import issue_tokens
from bonito.control.services.common import aware, new_id, now
from bonito.store.accounts import Invite, Membership, Org, User

INVITE_TTL = timedelta(days=7)
TOKEN_PREFIX = "bni_"
INVITE_FAILED = "This invitation is invalid, used or expired, or the password does not match the account"
MIN_PASSWORD = 8


def _out(row: Invite) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "role": row.role, "created_at": aware(row.created_at),
            "expires_at": aware(row.expires_at)}


async def create(session: AsyncSession, p: Principal, body: InviteIn) -> dict[str, Any]:
    member = await session.scalar(select(Membership.id).join(User, User.id == Membership.user_id)
                                  .where(Membership.org_id == p.org_id, User.email == body.email))
    if member is not None:
        raise Conflict("this email is already a member")
    await session.execute(update(Invite).where(  # one pending invitation per email and org
        Invite.org_id == p.org_id, Invite.email == body.email, Invite.accepted_at.is_(None),
        Invite.revoked_at.is_(None)).values(revoked_at=now()))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Invite(id=new_id("inv"), org_id=p.org_id, email=body.email, role=body.role, token_hash=hash_token(token),
                 created_by=p.user_id, created_at=now(), expires_at=now() + INVITE_TTL)
    session.add(row)
    audit.record(session, "member.invite", actor=p, target_type="invite", target_id=row.id,
                 details={"email": body.email, "role": body.role})
    await session.commit()
    return {**_out(row), "token": token, "accept_path": f"/invite?token={token}"}


async def pending(session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(Invite).where(
        Invite.org_id == p.org_id, Invite.accepted_at.is_(None), Invite.revoked_at.is_(None),
        Invite.expires_at > now()).order_by(Invite.created_at))).all()
    return [_out(r) for r in rows]


async def revoke(session: AsyncSession, p: Principal, invite_id: str) -> None:
    row = await session.get(Invite, invite_id) if ID_RE.match(invite_id) else None
    if row is None or row.org_id != p.org_id or row.accepted_at is not None or row.revoked_at is not None:
        raise NotFound("invite")
    row.revoked_at = now()
    audit.record(session, "member.invite_revoke", actor=p, target_type="invite", target_id=row.id,
                 details={"email": row.email})
    await session.commit()


async def _open_invite(session: AsyncSession, token: str) -> Invite | None:
    """The invitation this token opens, if it is still open (not accepted, revoked or expired)."""
    if not token.startswith(TOKEN_PREFIX):  # e.g. a user's access token: not an invitation
        return None
    row = (await session.execute(select(Invite).where(Invite.token_hash == hash_token(token)))).scalar_one_or_none()
    expires = aware(row.expires_at) if row is not None else None
    if row is None or row.accepted_at is not None or row.revoked_at is not None or expires is None \
            or expires <= now():
        return None
    return row


async def describe(session: AsyncSession, token: str) -> dict[str, Any]:
    """What the token holder is invited to: the email, the org's name, the role, and whether the email
    already has an account (so the page asks for a new password or the existing one)."""
    row = await _open_invite(session, token)
    if row is None:  # invalid, used, revoked or expired: the holder need not know which
        raise Unauthorized("This invitation is invalid, used or expired")
    org = await session.get(Org, row.org_id)
    exists = await session.scalar(select(User.id).where(User.email == row.email)) is not None
    return {"email": row.email, "role": row.role, "org_name": org.name if org else None,
            "expires_at": aware(row.expires_at), "account_exists": exists}


async def accept(ctx: ControlContext, session: AsyncSession, token: str, body: AcceptInviteIn,
                 ip: str) -> dict[str, Any]:
    row = await _open_invite(session, token)
    if row is None:
        raise Unauthorized(INVITE_FAILED)
    user = (await session.execute(select(User).where(User.email == row.email))).scalar_one_or_none()
    if user is None:
        if len(body.password) < MIN_PASSWORD:
            raise Invalid("password", f"at least {MIN_PASSWORD} characters for a new account")
        user = User(id=new_id("usr"), email=row.email, password_hash=await hash_password(body.password),
                    is_platform_admin=False, is_active=True, created_at=now())
        session.add(user)
        await session.flush()
    else:  # an existing account proves itself: its password, throttled like a login
        if await throttle.is_throttled(session, user.email, ip, ctx.login_max_failures_account,
                                       ctx.login_max_failures_ip):
            raise TooManyRequests("Too many failed attempts; try again later", {"Retry-After": "900"})
        if not user.is_active or not await verify_password(user.password_hash, body.password):
            await throttle.record_failure(session, user.email, ip)
            await session.commit()
            raise Unauthorized(INVITE_FAILED)
    if await session.scalar(select(Membership.id).where(Membership.org_id == row.org_id,
                                                        Membership.user_id == user.id)) is None:
        session.add(Membership(id=new_id("mem"), org_id=row.org_id, user_id=user.id, role=row.role,
                               created_at=now()))
    row.accepted_at = now()
    tokens = await issue_tokens(ctx, session, user.id, row.org_id)
    audit.record(session, "member.join", org_id=row.org_id, actor_id=user.id, actor_email=user.email, ip=ip,
                 target_type="invite", target_id=row.id, details={"role": row.role})
    await session.commit()
    return tokens
