"""The forecast document `GET /api/costs/forecast` answers: the org's, per tag value or model when asked,
and each monthly budget's projected use."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.costs.forecast import METHOD, month_window, project, series_start
from bonito.costs.series import daily_spend, first_day
from bonito.store.governance import BudgetRow
from bonito.store.usage import UsageRow


async def forecast(session: AsyncSession, org_id: str, now: datetime, group_by: str | None = None
                   ) -> dict[str, Any]:
    """Month-to-date, projected, low and high spend for the org; `group_by` ("tag:<key>" or "model")
    adds the same per value."""
    start, end = month_window(now)
    since = series_start(now)
    first = await first_day(session, org_id)
    org = (await daily_spend(session, org_id, since, now)).get(None, {})
    body: dict[str, Any] = {"month": start.strftime("%Y-%m"), "month_start": start, "month_end": end,
                            **project(org, now, first).as_json(), "method": METHOD,
                            "budgets": await budget_outlook(session, org_id, now)}
    if group_by is not None:
        groups = await daily_spend(session, org_id, since, now, group_by)
        rows = [{"value": value, **project(series, now, first).as_json()} for value, series in groups.items()]
        rows.sort(key=lambda r: -r["projected_usd"])
        body["group_by"] = group_by
        if group_by == "model":
            body["by_model"] = [{"model": r.pop("value"), **r} for r in rows]
        else:
            body["by_tag"] = [{"tag": group_by[4:], **r} for r in rows]
    return body


async def budget_outlook(session: AsyncSession, org_id: str, now: datetime) -> list[dict[str, Any]]:
    """Each monthly budget of the org with its projected month-end spend (its key or tag only)."""
    out = []
    since = series_start(now)
    first = await first_day(session, org_id)
    for row in (await session.scalars(select(BudgetRow).where(BudgetRow.org_id == org_id,
                                                              BudgetRow.period == "monthly"))).all():
        where: list[Any] = [UsageRow.key_id == row.key_id] if row.key_id else []
        where += [UsageRow.tags[k].as_string() == v for k, v in (row.tag or {}).items()]
        series = (await daily_spend(session, org_id, since, now, None, where)).get(None, {})
        f = project(series, now, first)
        usd = Decimal(row.usd)
        out.append({"id": row.id, "scope": "key" if row.key_id else "org", "key_id": row.key_id,
                    "tag": row.tag or None, "usd": str(usd), "projected_usd": float(round(f.projected, 6)),
                    "projected_percent": float(round(f.projected * 100 / usd, 2)) if usd else 0.0,
                    "projected_to_exceed": f.projected > usd})
    return out
