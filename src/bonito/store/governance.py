"""Governance tables: org limits, budgets, alert rules and webhooks, notifications and preferences.

`org_id` is not a foreign key here: in config mode orgs are names from
`bonito.yaml` (`default` unless a key sets `org`), with no `orgs` row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bonito.store.base import Base
from bonito.store.types import PicoUSD


class OrgLimitsRow(Base):
    """An org's own per-minute caps, shared by its keys that set none (they win over its tier's)."""

    __tablename__ = "org_limits"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    tokens_per_minute: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BudgetRow(Base):
    """Spend allowed per UTC period for an org (key_id null) or one of its keys."""

    __tablename__ = "budgets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    scope_key: Mapped[str] = mapped_column(String(80))  # "org" or "key:<id>": one budget per scope
    usd: Mapped[Decimal] = mapped_column(PicoUSD)
    period: Mapped[str] = mapped_column(String(16))
    hard: Mapped[bool] = mapped_column(Boolean, default=True)
    throttle_at_percent: Mapped[float | None] = mapped_column(Float)
    throttle_requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    tag: Mapped[dict[str, str] | None] = mapped_column(JSON)  # counts only requests carrying this tag value
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("org_id", "scope_key"),)


class AlertRuleRow(Base):
    """budget: threshold is a percent of a budget; error_rate: percent of requests; latency: p95 ms."""

    __tablename__ = "alert_rules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float] = mapped_column(Float)
    window_minutes: Mapped[int] = mapped_column(Integer, default=5)
    min_requests: Mapped[int] = mapped_column(Integer, default=20)
    channels: Mapped[list[str]] = mapped_column(JSON)  # in_app | email | webhook
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_alert_rules_org", "org_id"),)


class AlertWebhookRow(Base):
    """Where signed alert webhooks go; the signing secret is sealed by the secret backend."""

    __tablename__ = "alert_webhooks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    secret_ref: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_alert_webhooks_org", "org_id"),)


class NotificationRow(Base):
    """An in-app notification for an org; `dedupe_key` makes each alert happen once, whichever
    replica noticed it first."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_notifications_org_created", "org_id", "created_at"),)


class NotificationReadRow(Base):
    __tablename__ = "notification_reads"

    notification_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NotificationPreferenceRow(Base):
    """One user's choices in one org; a user without a row gets the defaults (everything on)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    weekly_digest: Mapped[bool] = mapped_column(Boolean, default=True)
    muted_kinds: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
