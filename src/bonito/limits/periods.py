"""Budget periods: UTC days, ISO weeks (from Monday) and calendar months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

Period = Literal["daily", "weekly", "monthly"]


def period_start(period: str, at: datetime) -> datetime:
    """The UTC boundary at or before `at` where the current period began."""
    at = at.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return day
    if period == "weekly":
        return day - timedelta(days=day.weekday())
    if period == "monthly":
        return day.replace(day=1)
    raise ValueError(f"unknown budget period {period!r}")


def period_end(period: str, at: datetime) -> datetime:
    """The next UTC boundary after `at`: when the budget resets."""
    start = period_start(period, at)
    if period == "daily":
        return start + timedelta(days=1)
    if period == "weekly":
        return start + timedelta(days=7)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month)


def period_id(period: str, at: datetime) -> str:
    """A name for the current period: '2025-01-15', '2025-01-13w' (its Monday), '2025-01'."""
    start = period_start(period, at)
    if period == "daily":
        return start.strftime("%Y-%m-%d")
    if period == "weekly":
        return start.strftime("%Y-%m-%dw")
    return start.strftime("%Y-%m")
