"""In-app notifications, read state and preferences in the database (also what the API serves)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.alerts.model import Alert
from bonito.store.accounts import Membership, User
from bonito.store.governance import NotificationPreferenceRow, NotificationReadRow, NotificationRow


@dataclass(frozen=True, slots=True)
class Preferences:
    email: bool = True
    in_app: bool = True
    weekly_digest: bool = True
    muted_kinds: tuple[str, ...] = ()


async def record(session: AsyncSession, alert: Alert) -> str | None:
    """Store the alert as a notification; None when it was already stored (by any replica)."""
    row = NotificationRow(id=f"ntf_{uuid.uuid4().hex}", org_id=alert.org_id, kind=alert.kind,
                          title=alert.title[:300], body=alert.body, data=alert.data,
                          dedupe_key=alert.dedupe_key[:300], created_at=alert.created_at)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return None
    return row.id


async def preferences(session: AsyncSession, user_id: str, org_id: str) -> Preferences:
    row = await session.get(NotificationPreferenceRow, (user_id, org_id))
    if row is None:
        return Preferences()
    return Preferences(row.email, row.in_app, row.weekly_digest, tuple(row.muted_kinds or ()))


async def save_preferences(session: AsyncSession, user_id: str, org_id: str, prefs: Preferences) -> None:
    row = await session.get(NotificationPreferenceRow, (user_id, org_id))
    if row is None:
        row = NotificationPreferenceRow(user_id=user_id, org_id=org_id)
        session.add(row)
    row.email, row.in_app, row.weekly_digest = prefs.email, prefs.in_app, prefs.weekly_digest
    row.muted_kinds = list(prefs.muted_kinds)
    row.updated_at = datetime.now(UTC)
    await session.commit()


def _visible(org_id: str, prefs: Preferences) -> Any:
    cond = NotificationRow.org_id == org_id
    if not prefs.in_app:
        return and_(cond, NotificationRow.id.is_(None))
    if prefs.muted_kinds:
        return and_(cond, NotificationRow.kind.not_in(prefs.muted_kinds))
    return cond


def _read_join(user_id: str) -> Any:
    return and_(NotificationReadRow.notification_id == NotificationRow.id, NotificationReadRow.user_id == user_id)


async def listing(session: AsyncSession, org_id: str, user_id: str, *, unread_only: bool = False,
                  limit: int = 50, before: datetime | None = None) -> list[tuple[NotificationRow, bool]]:
    """Newest first, with whether this user has read each."""
    prefs = await preferences(session, user_id, org_id)
    q = (select(NotificationRow, NotificationReadRow.read_at)
         .outerjoin(NotificationReadRow, _read_join(user_id))
         .where(_visible(org_id, prefs)))
    if unread_only:
        q = q.where(NotificationReadRow.read_at.is_(None))
    if before is not None:
        q = q.where(NotificationRow.created_at < before)
    rows = (await session.execute(q.order_by(NotificationRow.created_at.desc(), NotificationRow.id.desc())
                                  .limit(limit))).all()
    return [(n, read_at is not None) for n, read_at in rows]


async def unread_count(session: AsyncSession, org_id: str, user_id: str) -> int:
    prefs = await preferences(session, user_id, org_id)
    q = (select(func.count()).select_from(NotificationRow)
         .outerjoin(NotificationReadRow, _read_join(user_id))
         .where(_visible(org_id, prefs), NotificationReadRow.read_at.is_(None)))
    return int(await session.scalar(q) or 0)


async def mark_read(session: AsyncSession, org_id: str, user_id: str, ids: list[str] | None) -> int:
    """Mark these notifications (or all this user sees in the inbox, when `ids` is None: muted kinds stay
    as they are) read; answers how many changed."""
    q = (select(NotificationRow.id).outerjoin(NotificationReadRow, _read_join(user_id))
         .where(NotificationRow.org_id == org_id, NotificationReadRow.read_at.is_(None)))
    if ids is not None:
        q = q.where(NotificationRow.id.in_(ids))
    else:
        q = q.where(_visible(org_id, await preferences(session, user_id, org_id)))
    found = list((await session.scalars(q)).all())
    at = datetime.now(UTC)
    session.add_all(NotificationReadRow(notification_id=i, user_id=user_id, read_at=at) for i in found)
    await session.commit()
    return len(found)


async def exists(session: AsyncSession, org_id: str, notification_id: str) -> bool:
    return await session.scalar(select(NotificationRow.id).where(
        NotificationRow.id == notification_id, NotificationRow.org_id == org_id)) is not None


async def member_emails(session: AsyncSession, org_id: str, kind: str) -> list[str]:
    """Addresses of the org's active members whose preferences take this kind by email."""
    q = (select(User.email, NotificationPreferenceRow)
         .join(Membership, Membership.user_id == User.id)
         .outerjoin(NotificationPreferenceRow, and_(NotificationPreferenceRow.user_id == User.id,
                                                    NotificationPreferenceRow.org_id == org_id))
         .where(Membership.org_id == org_id, User.is_active.is_(True)))
    out = []
    for email, pref in (await session.execute(q)).all():
        if pref is None:
            out.append(email)
        elif kind == "digest":
            if pref.weekly_digest:
                out.append(email)
        elif pref.email and kind not in (pref.muted_kinds or ()):
            out.append(email)
    return out
