"""Small pieces every service uses: ids, clocks, the config version, lookups scoped by org."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.errors import Invalid, NotFound
from bonito.control.notices import PG_CHANNEL, announce_after_commit
from bonito.control.schemas.common import ID_RE
from bonito.store.catalog import ControlState

T = TypeVar("T")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime | None, field: str) -> datetime | None:
    """A query's datetime in UTC (naive ones are UTC); out of range is a 422 naming `field`."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise Invalid(field, "out of range", where="query") from None


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they are UTC."""
    if dt is None:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


async def bump_version(session: AsyncSession) -> None:
    """Mark the serving config changed; every replica reloads when told (bonito.control.notices)
    or at its next poll."""
    await session.execute(update(ControlState).where(ControlState.id == 1)
                          .values(version=ControlState.version + 1))
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {PG_CHANNEL}"))  # delivered on commit, dropped on rollback
    announce_after_commit(session)


async def get_scoped(session: AsyncSession, model: type[T], org_id: str, obj_id: str, what: str) -> T:
    """The object with this id in this org, or 404 (another org's objects do not exist)."""
    if not ID_RE.match(obj_id):
        raise NotFound(what)
    obj_cls: Any = model
    row = (await session.execute(
        select(model).where(obj_cls.id == obj_id, obj_cls.org_id == org_id))).scalar_one_or_none()
    if row is None:
        raise NotFound(what)
    return row


async def delete_scoped(session: AsyncSession, model: type[T], org_id: str, obj_id: str, what: str,
                        audit: Callable[[T], None] | None = None) -> None:
    """Delete one of the org's objects (404 if it is not theirs), bump the config version, commit.

    `audit` adds the audit event for the row, so it commits with the change it describes."""
    row = await get_scoped(session, model, org_id, obj_id, what)
    await session.delete(row)
    await bump_version(session)
    if audit is not None:
        audit(row)
    await session.commit()
