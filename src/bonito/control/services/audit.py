"""The audit log: sensitive actions recorded in the same transaction as the change."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bonito.control.deps import Principal
from bonito.control.errors import Invalid
from bonito.control.services.common import aware, new_id, now
from bonito.store.audit import AuditEvent

EXPORT_COLUMNS = ["id", "created_at", "action", "actor_id", "actor_email", "target_type", "target_id", "ip",
                  "details"]


def record(session: AsyncSession, action: str, *, actor: Principal | None = None, org_id: str | None = None,
           target_type: str | None = None, target_id: str | None = None, ip: str | None = None,
           details: dict[str, Any] | None = None, actor_email: str | None = None,
           actor_id: str | None = None) -> None:
    """Add an event to the session (it commits with the change it describes). Never pass secrets."""
    session.add(AuditEvent(
        id=new_id("aud"), org_id=org_id or (actor.org_id if actor else None),
        actor_id=actor_id or (actor.user_id if actor else None),
        actor_email=actor_email or (actor.email if actor else None), action=action,
        target_type=target_type, target_id=target_id, ip=ip or (actor.ip if actor else None),
        details=details, created_at=now(),
    ))


def as_dict(e: AuditEvent) -> dict[str, Any]:
    created = aware(e.created_at)
    return {"id": e.id, "created_at": created.isoformat() if created else None, "action": e.action,
            "actor_id": e.actor_id, "actor_email": e.actor_email, "target_type": e.target_type,
            "target_id": e.target_id, "ip": e.ip, "details": e.details}


def _encode(e: AuditEvent) -> str:
    created = aware(e.created_at)
    assert created is not None
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{e.id}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        ts, _, eid = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(ts), eid
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor", "not a cursor from this listing", where="query") from None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which of the org's events to list: an action (`key.create`, or a family: `key.*`), an actor's email,
    a time range [start, end)."""

    action: str | None = None
    actor: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def where(self) -> list[Any]:
        conds: list[Any] = []
        if self.action:
            if self.action.endswith(".*"):
                family = self.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                conds.append(AuditEvent.action.like(family + "%", escape="\\"))
            else:
                conds.append(AuditEvent.action == self.action)
        if self.actor:
            conds.append(func.lower(AuditEvent.actor_email) == self.actor.strip().lower())
        if self.start is not None:
            conds.append(AuditEvent.created_at >= self.start)
        if self.end is not None:
            conds.append(AuditEvent.created_at < self.end)
        return conds


def _page_query(org_id: str, cursor: str | None, limit: int, f: AuditFilter) -> Any:
    q = select(AuditEvent).where(AuditEvent.org_id == org_id, *f.where())
    if cursor:
        ts, eid = _decode(cursor)
        q = q.where(or_(AuditEvent.created_at < ts, and_(AuditEvent.created_at == ts, AuditEvent.id < eid)))
    return q.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)


async def page(session: AsyncSession, org_id: str, cursor: str | None, limit: int,
               f: AuditFilter = AuditFilter()) -> dict[str, Any]:
    rows = list((await session.execute(_page_query(org_id, cursor, limit + 1, f))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [as_dict(e) for e in rows], "next_cursor": _encode(rows[-1]) if more and rows else None}


async def export(sessions: async_sessionmaker[AsyncSession], org_id: str, fmt: str,
                 f: AuditFilter = AuditFilter()) -> AsyncIterator[bytes]:
    """Every (matching) event of the org, newest first, as CSV (with a header row) or JSON lines."""
    if fmt == "csv":
        yield _csv_line(EXPORT_COLUMNS)
    cursor: str | None = None
    while True:
        async with sessions() as session:
            rows = list((await session.execute(_page_query(org_id, cursor, 1000, f))).scalars())
        for e in rows:
            d = as_dict(e)
            if fmt == "csv":
                d["details"] = orjson.dumps(d["details"]).decode() if d["details"] is not None else ""
                yield _csv_line([d[c] for c in EXPORT_COLUMNS])
            else:
                yield orjson.dumps(d) + b"\n"
        if len(rows) < 1000:
            return
        cursor = _encode(rows[-1])


def _csv_line(values: list[Any]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow(["" if v is None else v for v in values])
    return buf.getvalue().encode()
