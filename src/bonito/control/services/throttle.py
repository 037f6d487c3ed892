"""Login throttling: failed attempts only, per account and per IP, over 15 minutes, in the database
(so every replica counts the same failures)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.services.common import new_id, now
from bonito.store.accounts import LoginFailure

WINDOW = timedelta(minutes=15)


async def is_throttled(session: AsyncSession, email: str, ip: str, max_account: int, max_ip: int) -> bool:
    since = now() - WINDOW
    by_account = await session.scalar(
        select(func.count()).select_from(LoginFailure)
        .where(LoginFailure.email == email, LoginFailure.created_at > since))
    if (by_account or 0) >= max_account:
        return True
    by_ip = await session.scalar(
        select(func.count()).select_from(LoginFailure)
        .where(LoginFailure.ip == ip, LoginFailure.created_at > since))
    return (by_ip or 0) >= max_ip


async def record_failure(session: AsyncSession, email: str, ip: str) -> None:
    session.add(LoginFailure(id=new_id("lf"), email=email, ip=ip[:64], created_at=now()))
    # old failures no longer count; drop them as we go
    await session.execute(delete(LoginFailure).where(LoginFailure.created_at < now() - 2 * WINDOW))
