"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

_PICO = Decimal(10) ** 12


class PicoUSD(TypeDecorator[Decimal]):
    """USD as an integer count of picodollars: exact sums in SQL on every backend.

    Prices carry at most six decimals per million tokens, so a call's cost is a
    whole number of picodollars and nothing is rounded.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int((Decimal(value) * _PICO).to_integral_value())

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)) / _PICO
