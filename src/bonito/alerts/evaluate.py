"""Alerts evaluated from recorded usage: error-rate spikes, slow p95 latency, the weekly digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.alerts.model import Alert
from bonito.limits.periods import period_id, period_start
from bonito.store.usage import UsageRow


@dataclass(frozen=True, slots=True)
class RateRule:
    """error_rate: threshold in percent of requests failing (5xx); latency: p95 in ms."""

    id: str  # "config" for bonito.yaml's rule
    kind: str
    threshold: float
    window_minutes: int
    min_requests: int
    channels: frozenset[str]
    org_id: str | None = None  # None: every org


async def evaluate_rate_rule(session: AsyncSession, rule: RateRule, now: datetime) -> list[Alert]:
    since = now - timedelta(minutes=rule.window_minutes)
    slot = int(now.timestamp() // (rule.window_minutes * 60))  # one alert per rule, org and window
    where = [UsageRow.created_at >= since, UsageRow.created_at <= now]
    if rule.org_id is not None:
        where.append(UsageRow.org_id == rule.org_id)
    alerts: list[Alert] = []
    if rule.kind == "error_rate":
        q = (select(UsageRow.org_id, func.count(), func.sum(case((UsageRow.status >= 500, 1), else_=0)))
             .where(*where).group_by(UsageRow.org_id))
        for org_id, total, failed in (await session.execute(q)).all():
            rate = 100.0 * int(failed or 0) / total
            if total >= rule.min_requests and rate >= rule.threshold:
                alerts.append(Alert(
                    "error_rate", org_id, f"Error rate {rate:.1f}% over the last {rule.window_minutes} min",
                    f"{failed} of {total} requests failed in the last {rule.window_minutes} minutes "
                    f"(alert at {rule.threshold:g}%).", f"error_rate:{org_id}:{rule.id}:{slot}",
                    {"error_rate_percent": round(rate, 2), "requests": total, "failed": int(failed or 0),
                     "threshold_percent": rule.threshold, "window_minutes": rule.window_minutes},
                    rule.channels, now))
        return alerts
    latencies: dict[str, list[float]] = {}
    for org_id, ms in (await session.execute(select(UsageRow.org_id, UsageRow.latency_ms).where(*where))).all():
        latencies.setdefault(org_id, []).append(float(ms))
    for org_id, values in latencies.items():
        if len(values) < rule.min_requests:
            continue
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        if p95 >= rule.threshold:
            alerts.append(Alert(
                "latency", org_id, f"p95 latency {p95:.0f} ms over the last {rule.window_minutes} min",
                f"The slowest 5% of {len(values)} requests took {p95:.0f} ms or more in the last "
                f"{rule.window_minutes} minutes (alert at {rule.threshold:g} ms).",
                f"latency:{org_id}:{rule.id}:{slot}",
                {"p95_ms": round(p95, 1), "requests": len(values), "threshold_ms": rule.threshold,
                 "window_minutes": rule.window_minutes}, rule.channels, now))
    return alerts


def digest_due(now: datetime, hour_utc: int = 9) -> bool:
    """The weekly digest goes out from Monday `hour_utc`:00 UTC on."""
    return now - period_start("weekly", now) >= timedelta(hours=hour_utc)


async def weekly_digests(session: AsyncSession, now: datetime) -> list[Alert]:
    """Last week's usage per org (requests, tokens, cost, failures, busiest models)."""
    end = period_start("weekly", now)
    start = end - timedelta(days=7)
    week = period_id("weekly", start)
    where = (UsageRow.created_at >= start, UsageRow.created_at < end)
    q = (select(UsageRow.org_id, func.count(), func.sum(UsageRow.total_tokens), func.sum(UsageRow.cost_usd),
                func.sum(case((UsageRow.status >= 400, 1), else_=0)))
         .where(*where).group_by(UsageRow.org_id))
    out = []
    for org_id, requests, tokens, cost_pico, failed in (await session.execute(q)).all():
        cost = Decimal(cost_pico or 0)  # PicoUSD sums come back as dollars
        top = (await session.execute(
            select(UsageRow.model_used, func.count()).where(*where, UsageRow.org_id == org_id)
            .group_by(UsageRow.model_used).order_by(func.count().desc()).limit(3))).all()
        models = ", ".join(f"{m or 'unknown'} ({n})" for m, n in top)
        body = (f"Week of {start:%Y-%m-%d} (UTC): {requests} requests, {int(tokens or 0)} tokens, "
                f"${cost:.2f} spent, {int(failed or 0)} failed. Busiest models: {models or 'none'}.")
        out.append(Alert("digest", org_id, f"Your Bonito week: {requests} requests, ${cost:.2f}", body,
                         f"digest:{org_id}:{week}",
                         {"week": week, "requests": requests, "tokens": int(tokens or 0), "cost_usd": str(cost),
                          "failed": int(failed or 0)}, frozenset({"in_app", "email"}), now))
    return out


def utc_now() -> datetime:
    return datetime.now(UTC)
