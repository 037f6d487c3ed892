"""An alert: what happened, for which org, and the key that makes it happen only once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bonito.limits.base import BudgetCrossing

CHANNELS = ("in_app", "email", "webhook")
KINDS = ("budget", "error_rate", "latency", "digest", "budget_forecast")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # one of KINDS
    org_id: str
    title: str
    body: str
    dedupe_key: str  # the same condition in the same period is one alert, on any replica
    data: dict[str, Any] = field(default_factory=dict)
    channels: frozenset[str] = frozenset(CHANNELS)
    created_at: datetime = field(default_factory=_now)

    def payload(self, notification_id: str) -> dict[str, Any]:
        """The webhook body."""
        return {"id": notification_id, "type": f"alert.{self.kind}", "org_id": self.org_id,
                "created_at": self.created_at.isoformat(), "title": self.title, "message": self.body,
                "data": self.data}


def budget_alert(c: BudgetCrossing) -> Alert:
    b = c.budget
    # members read this in their own org's inbox: its id would say nothing more
    whose = f"key '{b.name}'" if b.scope == "key" else "the organization"
    if b.tag:  # a budget scoped to a tag value
        whose += " for " + ", ".join(f"{k}={v}" for k, v in b.tag)
    pct = f"{c.threshold:g}%"
    title = f"Budget {pct} reached: {whose} spent ${c.spend_usd:.2f} of ${c.cap_usd:.2f} ({b.period})"
    action = ("Requests are refused until the period resets." if b.hard and c.spend_pico >= b.cap_pico
              else "Requests are still served." if not b.hard else "")
    body = (f"The {b.period} budget of {whose} has passed {pct}: ${c.spend_usd:.4f} spent of "
            f"${c.cap_usd:.2f} in period {b.period_id} (UTC). {action}").strip()
    return Alert(
        kind="budget", org_id=b.org_id, title=title, body=body,
        dedupe_key=f"budget:{b.ledger}:{c.threshold:g}",
        data={"scope": b.scope, "owner": b.owner, "name": b.name, "period": b.period,
              "period_id": b.period_id, "threshold_percent": c.threshold, "spend_usd": str(c.spend_usd),
              "budget_usd": str(c.cap_usd), "hard": b.hard, "tag": dict(b.tag) or None},
    )
