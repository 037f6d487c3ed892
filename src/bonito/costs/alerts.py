"""Alert rule kind `budget_forecast`: a monthly budget whose projected month-end spend reaches the rule's
threshold (percent of the budget; 100 = projected to exceed it). One alert per rule, budget and month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bonito.alerts.model import Alert
from bonito.costs.report import budget_outlook
from bonito.store.governance import AlertRuleRow

KIND = "budget_forecast"


async def forecast_alerts(session: AsyncSession, rules: Sequence[AlertRuleRow], now: datetime) -> list[Alert]:
    out: list[Alert] = []
    month = now.strftime("%Y-%m")
    outlooks: dict[str, list[dict[str, object]]] = {}
    for rule in rules:
        if rule.org_id not in outlooks:
            outlooks[rule.org_id] = await budget_outlook(session, rule.org_id, now)
        for b in outlooks[rule.org_id]:
            percent = float(str(b["projected_percent"]))
            if percent < rule.threshold:
                continue
            whose = f"key {b['key_id']}" if b["key_id"] else "the organization"
            if b["tag"]:
                whose += " for " + ", ".join(f"{k}={v}" for k, v in dict(b["tag"]).items())  # type: ignore[call-overload]
            usd = Decimal(str(b["usd"]))
            out.append(Alert(
                KIND, rule.org_id, f"Projected to exceed budget: {whose} heads for {percent:.0f}% of ${usd:.2f}",
                f"At the recent daily rate, the monthly budget of {whose} (${usd:.2f}) ends {month} at "
                f"${b['projected_usd']:.2f}, {percent:.0f}% of it (alert at {rule.threshold:g}%).",
                f"{KIND}:{rule.org_id}:{rule.id}:{b['id']}:{month}",
                {"budget_id": b["id"], "projected_usd": b["projected_usd"], "budget_usd": str(usd),
                 "projected_percent": percent, "threshold_percent": rule.threshold, "month": month},
                frozenset(rule.channels), now))
    return out
