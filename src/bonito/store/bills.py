"""cloud_bills: AI spend as the clouds billed it, per org, provider connection, service, model and day."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bonito.store.base import Base
from bonito.store.types import PicoUSD


class CloudBillRow(Base):
    __tablename__ = "cloud_bills"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str] = mapped_column(String(64))
    cloud: Mapped[str] = mapped_column(String(16))  # aws | azure | gcp
    service: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(300))
    day: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(PicoUSD)  # in `currency`
    currency: Mapped[str] = mapped_column(String(8))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_cloud_bills_org_day", "org_id", "day"),)
