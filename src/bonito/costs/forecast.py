"""Where the month will end: month-to-date spend plus the recent daily rate for the days left.

The method, in one sentence: the projection adds to the spend so far this (UTC) month the average daily
spend of the last 7 whole days (days before the first recorded request left out) times the days
remaining; the range uses the cheapest and the dearest of those days instead of their average. With no
whole day recorded yet, today's spend so far, scaled to a whole day, is the rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bonito.limits.periods import period_end, period_start

WINDOW_DAYS = 7
METHOD = ("month-to-date spend + the average daily spend of the last 7 whole UTC days × the days left in the "
          "month; low and high use the cheapest and the dearest of those days")
_DAY_S = Decimal(86_400)


@dataclass(frozen=True, slots=True)
class Forecast:
    month_to_date: Decimal
    projected: Decimal
    low: Decimal
    high: Decimal
    daily_rate: Decimal
    remaining_days: Decimal
    days_used: int  # whole days behind the rate (0: today's partial day)

    def as_json(self) -> dict[str, Any]:
        return {"month_to_date_usd": _usd(self.month_to_date), "projected_usd": _usd(self.projected),
                "low_usd": _usd(self.low), "high_usd": _usd(self.high), "daily_rate_usd": _usd(self.daily_rate),
                "remaining_days": float(round(self.remaining_days, 4)), "days_used": self.days_used}


def _usd(v: Decimal) -> float:
    return float(round(v, 6))


def month_window(now: datetime) -> tuple[datetime, datetime]:
    """The current UTC month: its start and the next month's start."""
    return period_start("monthly", now), period_end("monthly", now)


def project(daily: Mapping[date, Decimal], now: datetime, first: date | None) -> Forecast:
    """Project month-end spend from daily spend (`daily`: UTC day -> USD, including today so far)."""
    now = now.astimezone(UTC)
    start, end = month_window(now)
    today = now.date()
    mtd = sum((v for d, v in daily.items() if start.date() <= d <= today), Decimal(0))
    remaining = Decimal((end - now).total_seconds()) / _DAY_S
    days = [today - timedelta(days=i) for i in range(1, WINDOW_DAYS + 1)]
    days = [d for d in days if first is not None and d >= first]
    if days:
        values = [daily.get(d, Decimal(0)) for d in days]
        rate = sum(values, Decimal(0)) / len(values)
        low_rate, high_rate = min(values), max(values)
    else:
        elapsed = Decimal((now - datetime(today.year, today.month, today.day, tzinfo=UTC)).total_seconds())
        rate = daily.get(today, Decimal(0)) * _DAY_S / elapsed if elapsed > 0 else Decimal(0)
        low_rate = high_rate = rate
    return Forecast(mtd, mtd + rate * remaining, mtd + low_rate * remaining, mtd + high_rate * remaining, rate,
                    remaining, len(days))


def series_start(now: datetime) -> datetime:
    """Where the daily series must begin: the month's start or the rate's window, whichever is earlier."""
    start, _ = month_window(now)
    window = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=WINDOW_DAYS)
    return min(start, window)
