"""Cloud bills: the AI spend a cloud account was billed, imported per service, model (usage type) and day,
to set beside the gateway's own metered cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class BillLine:
    day: date
    service: str
    model: str  # the finest item the bill names: AWS usage type, Azure meter, GCP SKU
    amount: Decimal
    currency: str


class BillImportError(Exception):
    """The cloud refused or failed the cost query; `reason` is safe to show (no credential in it)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
