"""Daily spend from `usage_records`: per UTC day, optionally split by a tag's value or the model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.store.usage import UsageRow

U = UsageRow
Daily = dict[date, Decimal]


def _day(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("day", func.timezone("UTC", U.created_at))
    return func.strftime("%Y-%m-%d", U.created_at)


def _as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def split_column(split: str | None) -> Any:
    """None: the org as a whole; "model": the public model; "tag:<key>": that tag's value."""
    if split is None:
        return None
    if split == "model":
        return func.coalesce(U.model_used, U.model_requested)
    return U.tags[split[4:]].as_string()


async def daily_spend(session: AsyncSession, org_id: str, start: datetime, end: datetime,
                      split: str | None = None, where: Sequence[Any] = ()) -> dict[str | None, Daily]:
    """Spend per UTC day in [start, end), per value of `split` (a single None group when not split)."""
    day = _day(session)
    group = split_column(split)
    cols = [day] if group is None else [day, group]
    q = (select(*cols, func.sum(U.cost_usd))
         .where(U.org_id == org_id, U.created_at >= start, U.created_at < end, *where).group_by(*cols))
    out: dict[str | None, Daily] = {}
    for row in (await session.execute(q)).all():
        value = None if group is None else row[1]
        out.setdefault(value, {})[_as_date(row[0])] = Decimal(row[-1] or 0)
    return out


async def first_day(session: AsyncSession, org_id: str) -> date | None:
    """The UTC day of the org's first recorded request (days before it are not days of zero spend)."""
    first = await session.scalar(select(func.min(U.created_at)).where(U.org_id == org_id))
    if first is None:
        return None
    return first.astimezone(UTC).date() if isinstance(first, datetime) and first.tzinfo else _as_date(first)
