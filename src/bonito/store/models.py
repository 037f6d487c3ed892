"""Every table, imported in one place so Alembic sees the whole schema."""

from __future__ import annotations

from bonito.store.accounts import LoginFailure, Membership, Org, RefreshToken, User
from bonito.store.agents import AgentRow, AgentTokenRow
from bonito.store.audit import AuditEvent
from bonito.store.base import Base
from bonito.store.bills import CloudBillRow
from bonito.store.catalog import (
    ControlState,
    GatewayConfigRow,
    GatewayKeyRow,
    ModelRow,
    ProviderRow,
    RoutingPolicyRow,
)
from bonito.store.governance import (
    AlertRuleRow,
    AlertWebhookRow,
    BudgetRow,
    NotificationPreferenceRow,
    NotificationReadRow,
    NotificationRow,
    OrgLimitsRow,
)
from bonito.store.usage import UsageRow

metadata = Base.metadata

__all__ = [
    "AgentRow",
    "AgentTokenRow",
    "AlertRuleRow",
    "AlertWebhookRow",
    "AuditEvent",
    "Base",
    "BudgetRow",
    "CloudBillRow",
    "ControlState",
    "GatewayConfigRow",
    "GatewayKeyRow",
    "LoginFailure",
    "Membership",
    "ModelRow",
    "NotificationPreferenceRow",
    "NotificationReadRow",
    "NotificationRow",
    "Org",
    "OrgLimitsRow",
    "ProviderRow",
    "RefreshToken",
    "RoutingPolicyRow",
    "UsageRow",
    "User",
    "metadata",
]
