"""`bt-` org tokens for VPC agents: issued by org admins (shown once, kept as SHA-256 hashes),
rotated with an overlap window, revoked at once, and checked on the agent endpoints."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.deps import Principal
from bonito.control.errors import NotFound, Unauthorized
from bonito.control.services import audit
from bonito.control.services.common import aware, new_id, now
from bonito.store.agents import AgentTokenRow

PREFIX = "bt-"
DEFAULT_OVERLAP_S = 3600


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def own_org(user: Principal, org_id: str) -> None:
    """Another org does not exist for the caller: 404, never 403."""
    if org_id != user.org_id:
        raise NotFound("org")


async def issue(session: AsyncSession, user: Principal, org_id: str, overlap_s: int) -> dict[str, Any]:
    """A new token; the org's earlier ones keep working for `overlap_s` seconds (0: revoked now)."""
    own_org(user, org_id)
    t = now()
    live = (AgentTokenRow.org_id == org_id, AgentTokenRow.revoked_at.is_(None))
    if overlap_s == 0:
        await session.execute(update(AgentTokenRow).where(*live).values(revoked_at=t))
    else:
        until = t + timedelta(seconds=overlap_s)
        # an overlap never lengthens an earlier token's life
        await session.execute(update(AgentTokenRow).where(
            *live, or_(AgentTokenRow.expires_at.is_(None), AgentTokenRow.expires_at > until))
            .values(expires_at=until))
    token = PREFIX + secrets.token_urlsafe(32)
    row = AgentTokenRow(id=new_id("agt"), org_id=org_id, token_hash=token_hash(token), created_by=user.user_id,
                        created_at=t)
    session.add(row)
    audit.record(session, "agent.token.issue", actor=user, target_type="agent_token", target_id=row.id,
                 details={"overlap_s": overlap_s})
    await session.commit()
    return {"id": row.id, "token": token, "created_at": t}


async def revoke_all(session: AsyncSession, user: Principal, org_id: str) -> None:
    own_org(user, org_id)
    await session.execute(update(AgentTokenRow).where(
        AgentTokenRow.org_id == org_id, AgentTokenRow.revoked_at.is_(None)).values(revoked_at=now()))
    audit.record(session, "agent.token.revoke", actor=user, target_type="org", target_id=org_id)
    await session.commit()


async def authenticate(session: AsyncSession, authorization: str | None) -> str:
    """The org a `Bearer bt-…` header acts for; 401 for anything else (missing, revoked, expired)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(PREFIX):
        raise Unauthorized("An agent endpoint needs an org token (Bearer bt-…)")
    row = await session.scalar(select(AgentTokenRow).where(AgentTokenRow.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or (
            row.expires_at is not None and (aware(row.expires_at) or now()) <= now()):
        raise Unauthorized("Invalid, revoked or expired org token")
    return row.org_id

