"""Imported bill lines in the store, and the bills set beside the gateway's metered cost per day."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.costs.bills import BillLine
from bonito.costs.series import daily_spend
from bonito.store.bills import CloudBillRow


async def replace_lines(session: AsyncSession, org_id: str, provider_id: str, cloud: str, start: date, end: date,
                        lines: Sequence[BillLine]) -> int:
    """Store an import: the provider's lines for [start, end) replace what an earlier import stored."""
    b = CloudBillRow
    await session.execute(delete(b).where(b.org_id == org_id, b.provider_id == provider_id, b.day >= start,
                                          b.day < end))
    now = datetime.now(UTC)
    session.add_all([CloudBillRow(id=f"bill_{uuid.uuid4().hex}", org_id=org_id, provider_id=provider_id,
                                  cloud=cloud, service=line.service[:200], model=line.model[:300], day=line.day,
                                  amount=line.amount, currency=line.currency[:8], imported_at=now)
                     for line in lines if start <= line.day < end])
    await session.commit()
    return sum(1 for line in lines if start <= line.day < end)


async def report(session: AsyncSession, org_id: str, start: date, end: date) -> dict[str, Any]:
    """Billed (USD lines) beside metered spend per day; the difference is spend that bypassed Bonito.
    Lines in another currency are listed and totalled apart, never added to USD."""
    b = CloudBillRow
    rows = (await session.scalars(select(b).where(b.org_id == org_id, b.day >= start, b.day < end)
                                  .order_by(b.day, b.provider_id, b.service, b.model))).all()
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    t1 = datetime(end.year, end.month, end.day, tzinfo=UTC)
    metered = (await daily_spend(session, org_id, t0, t1)).get(None, {})
    billed: dict[date, Decimal] = {}
    other: dict[str, Decimal] = {}
    for r in rows:
        if r.currency.upper() == "USD":
            billed[r.day] = billed.get(r.day, Decimal(0)) + Decimal(r.amount)
        else:
            other[r.currency] = other.get(r.currency, Decimal(0)) + Decimal(r.amount)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    by_day = [{"day": d.isoformat(), "billed_usd": _s(billed.get(d)), "metered_usd": _s(metered.get(d)),
               "difference_usd": _s(billed.get(d, Decimal(0)) - metered.get(d, Decimal(0)))}
              for d in days if d in billed or d in metered]
    total_billed, total_metered = sum(billed.values(), Decimal(0)), sum(metered.values(), Decimal(0))
    return {"start": start.isoformat(), "end": end.isoformat(),
            "items": [{"day": r.day.isoformat(), "cloud": r.cloud, "provider_id": r.provider_id,
                       "service": r.service, "model": r.model, "amount": _s(Decimal(r.amount)),
                       "currency": r.currency} for r in rows],
            "by_day": by_day,
            "totals": {"billed_usd": _s(total_billed), "metered_usd": _s(total_metered),
                       "unmetered_usd": _s(total_billed - total_metered),
                       "other_currencies": {c: _s(v) for c, v in sorted(other.items())}}}


def _s(v: Decimal | None) -> str:
    """A decimal string, exact and without exponent ("0" for none)."""
    return format(v.normalize(), "f") if v else "0"
