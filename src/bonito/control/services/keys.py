"""Gateway keys: `bn-` plaintext shown once, SHA-256 at rest, prefix and last four for display."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.deps import Principal
from bonito.control.errors import Forbidden, Invalid
from bonito.control.schemas.keys import AllowedScope, KeyIn, KeyPatch
from bonito.control.security import hash_token
from bonito.control.services import audit
from bonito.control.services.common import aware, bump_version, get_scoped, new_id, now
from bonito.store.catalog import GatewayKeyRow

PREFIX_LEN = 7  # "bn-" and four characters


def new_key(kind: str = "bn") -> str:
    return f"{kind}-{secrets.token_urlsafe(32)}"


def display(prefix: str, last4: str) -> str:
    return f"{prefix}…{last4}"


def _allowed(value: list[str] | AllowedScope | None) -> Any:
    if value is None:
        return None
    if isinstance(value, AllowedScope):
        return {"models": list(value.models), "providers": list(value.providers)}
    return list(value)


def as_dict(row: GatewayKeyRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "key_prefix": row.key_prefix, "key_last4": row.key_last4,
            "display": display(row.key_prefix, row.key_last4), "requests_per_minute": row.requests_per_minute,
            "tokens_per_minute": row.tokens_per_minute, "allowed_models": row.allowed_models,
            "created_at": row.created_at, "expires_at": aware(row.expires_at),
            "revoked_at": aware(row.revoked_at), "created_by": row.created_by, "tags": row.tags or {},
            "cache": row.cache}


def _future(expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise Invalid("expires_at", "must include a timezone (e.g. 2030-01-01T00:00:00Z)")
    try:
        value = expires_at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise Invalid("expires_at", "out of range") from None
    if value <= now():
        raise Invalid("expires_at", "must be in the future")
    return value


async def create(session: AsyncSession, p: Principal, body: KeyIn) -> dict[str, Any]:
    plaintext = new_key()
    row = GatewayKeyRow(
        id=new_id("key"), org_id=p.org_id, name=body.name, key_hash=hash_token(plaintext),
        key_prefix=plaintext[:PREFIX_LEN], key_last4=plaintext[-4:],
        requests_per_minute=body.requests_per_minute, tokens_per_minute=body.tokens_per_minute,
        allowed_models=_allowed(body.allowed_models), created_by=p.user_id, created_at=now(),
        expires_at=_future(body.expires_at), tags=body.tags or None, cache=body.cache)
    session.add(row)
    await bump_version(session)
    audit.record(session, "key.create", actor=p, target_type="gateway_key", target_id=row.id,
                 details={"name": body.name, "prefix": row.key_prefix})
    await session.commit()
    return {**as_dict(row), "key": plaintext}


async def list_all(session: AsyncSession, p: Principal, include_revoked: bool) -> list[dict[str, Any]]:
    q = select(GatewayKeyRow).where(GatewayKeyRow.org_id == p.org_id)
    if not include_revoked:
        q = q.where(GatewayKeyRow.revoked_at.is_(None))
    rows = (await session.execute(q.order_by(GatewayKeyRow.created_at, GatewayKeyRow.id))).scalars()
    return [as_dict(r) for r in rows]


async def get(session: AsyncSession, p: Principal, key_id: str) -> dict[str, Any]:
    return as_dict(await get_scoped(session, GatewayKeyRow, p.org_id, key_id, "key"))


def _may_change(p: Principal, row: GatewayKeyRow) -> None:
    # members manage the keys they made; admins manage all of the org's keys
    if not p.can("admin") and row.created_by != p.user_id:
        raise Forbidden("members may change only the keys they created")


async def update(session: AsyncSession, p: Principal, key_id: str, body: KeyPatch) -> dict[str, Any]:
    row = await get_scoped(session, GatewayKeyRow, p.org_id, key_id, "key")
    _may_change(p, row)
    changes = body.model_dump(exclude_unset=True)
    if body.name is not None:
        row.name = body.name
    if "requests_per_minute" in changes:
        row.requests_per_minute = body.requests_per_minute
    if "tokens_per_minute" in changes:
        row.tokens_per_minute = body.tokens_per_minute
    if "allowed_models" in changes:
        row.allowed_models = _allowed(body.allowed_models)
    if "expires_at" in changes:
        row.expires_at = _future(body.expires_at)
    if "tags" in changes:
        row.tags = body.tags or None
    if body.cache is not None:
        row.cache = body.cache
    await bump_version(session)
    audit.record(session, "key.update", actor=p, target_type="gateway_key", target_id=row.id,
                 details={"fields": sorted(changes)})
    await session.commit()
    return as_dict(row)


async def rotate(session: AsyncSession, p: Principal, key_id: str) -> dict[str, Any]:
    """A new secret for the same key (same id, limits and usage history); the old one stops at once."""
    row = await get_scoped(session, GatewayKeyRow, p.org_id, key_id, "key")
    _may_change(p, row)
    if row.revoked_at is not None:
        raise Invalid("id", "a revoked key cannot be rotated", where="path")
    plaintext = new_key()
    row.key_hash, row.key_prefix, row.key_last4 = hash_token(plaintext), plaintext[:PREFIX_LEN], plaintext[-4:]
    await bump_version(session)
    audit.record(session, "key.rotate", actor=p, target_type="gateway_key", target_id=row.id,
                 details={"prefix": row.key_prefix})
    await session.commit()
    return {**as_dict(row), "key": plaintext}


async def revoke(session: AsyncSession, p: Principal, key_id: str) -> None:
    row = await get_scoped(session, GatewayKeyRow, p.org_id, key_id, "key")
    _may_change(p, row)
    if row.revoked_at is not None:
        return
    row.revoked_at = now()
    await bump_version(session)
    audit.record(session, "key.revoke", actor=p, target_type="gateway_key", target_id=row.id,
                 details={"prefix": row.key_prefix})
    await session.commit()
