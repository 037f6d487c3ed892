"""Playground keys: a `bn-` key for the signed-in user, scoped to their org, audited, expiring.

The playground page calls `/v1` with one of these instead of a key typed into the page. Each user holds
at most one live playground key: issuing another revokes the earlier ones, so a reload never piles up
working secrets. They are ordinary gateway keys (listed with the org's keys, shown with their expiry),
so the gateway needs nothing new to serve, meter and expire them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.security import hash_token
from bonito.control.services import audit
from bonito.control.services.common import bump_version, new_id, now
from bonito.control.services.keys import PREFIX_LEN, new_key
from bonito.store.catalog import GatewayKeyRow

NAME_PREFIX = "playground · "


def key_name(p: Principal) -> str:
    return f"{NAME_PREFIX}{p.email}"[:200]


async def issue(ctx: ControlContext, session: AsyncSession, p: Principal, ttl_s: int) -> dict[str, Any]:
    """A fresh key for `p` that stops working after `ttl_s` seconds; earlier ones of theirs are revoked."""
    t = now()
    earlier = (await session.execute(select(GatewayKeyRow).where(
        GatewayKeyRow.org_id == p.org_id, GatewayKeyRow.created_by == p.user_id,
        GatewayKeyRow.name == key_name(p), GatewayKeyRow.revoked_at.is_(None)))).scalars()
    for row in earlier:
        row.revoked_at = t
    plaintext = new_key()
    row = GatewayKeyRow(
        id=new_id("key"), org_id=p.org_id, name=key_name(p), key_hash=hash_token(plaintext),
        key_prefix=plaintext[:PREFIX_LEN], key_last4=plaintext[-4:], allowed_models=None,
        created_by=p.user_id, created_at=t, expires_at=t + timedelta(seconds=ttl_s))
    session.add(row)
    await bump_version(session)
    audit.record(session, "playground.key_issue", actor=p, target_type="gateway_key", target_id=row.id,
                 details={"prefix": row.key_prefix, "ttl_s": ttl_s})
    await session.commit()
    # serve it at once from this process; other replicas pick it up within their poll
    await ctx.refresh_snapshot()
    return {"id": row.id, "name": row.name, "key": plaintext, "expires_at": row.expires_at, "ttl_s": ttl_s}
