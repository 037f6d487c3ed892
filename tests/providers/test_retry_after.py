"""Retry-After as upstreams send it: seconds or an HTTP date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bonito.providers.base import retry_after_s


def test_seconds_dates_and_garbage() -> None:
    assert retry_after_s("2") == 2.0
    assert retry_after_s("0.5") == 0.5
    assert retry_after_s("-3") == 0.0
    assert retry_after_s(None) is None and retry_after_s("") is None and retry_after_s("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    got = retry_after_s(later)
    assert got is not None and 25 <= got <= 31
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert retry_after_s(past) == 0.0
