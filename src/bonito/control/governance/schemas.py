"""Request and response bodies of the governance API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, HttpUrl, model_validator

from bonito.config.schema import TagValues
from bonito.control.schemas.common import ApiModel, Name

PerMinute = Annotated[int, Field(gt=0, le=1_000_000_000)]
Channel = Literal["in_app", "email", "webhook"]


def _all_channels() -> list[Channel]:
    return ["in_app", "email", "webhook"]


class LimitsIn(ApiModel):
    """The org's own caps per minute (null: the tier's)."""

    requests_per_minute: PerMinute | None = None
    tokens_per_minute: PerMinute | None = None


class LimitsOut(BaseModel):
    org_id: str
    tier: str
    requests_per_minute: int | None
    tokens_per_minute: int | None
    tier_requests_per_minute: int | None
    tier_tokens_per_minute: int | None


# spend is kept in integer picodollars (a signed 64-bit column): a budget stays below 2^63 of them
MAX_BUDGET_USD = Decimal(9_000_000)


class ThrottleIn(ApiModel):
    at_percent: float = Field(default=90, gt=0, le=100)
    requests_per_minute: PerMinute


class BudgetIn(ApiModel):
    scope: Literal["org", "key"] = "org"
    key_id: str | None = Field(default=None, max_length=64)
    usd: Decimal = Field(gt=0, le=MAX_BUDGET_USD, max_digits=18, decimal_places=6)
    period: Literal["daily", "weekly", "monthly"] = "monthly"
    hard: bool = True
    throttle: ThrottleIn | None = None
    tag: TagValues | None = Field(default=None, description="count and refuse only requests carrying these "
                                                            "tag values, e.g. {\"team\": \"data\"}")

    @model_validator(mode="after")
    def _key(self) -> BudgetIn:
        if self.tag is not None and not self.tag:
            raise ValueError("tag: name at least one tag and its value, e.g. {\"team\": \"data\"}")
        if (self.scope == "key") != (self.key_id is not None):
            raise ValueError("key_id is required for scope 'key' and not allowed for scope 'org'")
        return self


class BudgetPatch(ApiModel):
    """What may change on a budget in place (its scope and period name its spend ledger: make a new one)."""

    usd: Decimal | None = Field(default=None, gt=0, le=MAX_BUDGET_USD, max_digits=18, decimal_places=6)
    hard: bool | None = None
    throttle: ThrottleIn | None = Field(default=None, description="set or change; see `remove_throttle`")
    remove_throttle: bool = False

    @model_validator(mode="after")
    def _throttle(self) -> BudgetPatch:
        if self.remove_throttle and self.throttle is not None:
            raise ValueError("give either throttle or remove_throttle, not both")
        return self


class BudgetOut(BaseModel):
    id: str
    scope: str
    key_id: str | None
    usd: str
    period: str
    hard: bool
    throttle: dict[str, Any] | None
    tag: dict[str, str] | None = None
    spent_usd: str
    percent_used: float
    period_start: datetime
    resets_at: datetime
    created_at: datetime


class AlertRuleIn(ApiModel):
    name: Name
    kind: Literal["budget", "error_rate", "latency", "budget_forecast"]
    threshold: float = Field(gt=0, le=1_000_000, description="budget: % of a budget; error_rate: % of "
                                                              "requests; latency: p95 in ms")
    window_minutes: int = Field(default=5, gt=0, le=1440)
    min_requests: int = Field(default=20, gt=0, le=1_000_000)
    channels: list[Channel] = Field(default_factory=_all_channels, min_length=1)
    enabled: bool = True


class AlertRulePatch(ApiModel):
    enabled: bool | None = None
    threshold: float | None = Field(default=None, gt=0, le=1_000_000)
    channels: list[Channel] | None = Field(default=None, min_length=1)


class AlertRuleOut(BaseModel):
    id: str
    name: str
    kind: str
    threshold: float
    window_minutes: int
    min_requests: int
    channels: list[str]
    enabled: bool
    created_at: datetime


class WebhookIn(ApiModel):
    url: HttpUrl
    secret: str | None = Field(default=None, min_length=16, max_length=200,
                               description="the signing secret; generated when omitted")


class WebhookOut(BaseModel):
    id: str
    url: str
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="shown once: verify X-Bonito-Signature with it")


class WebhookTestOut(BaseModel):
    delivered: bool
    error: str | None = Field(default=None, description="why the test event was not accepted")


class NotificationOut(BaseModel):
    id: str
    kind: str
    title: str
    body: str
    data: dict[str, Any] | None
    read: bool
    created_at: datetime


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class UnreadOut(BaseModel):
    unread: int


class ReadIn(ApiModel):
    ids: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=1000)


class ReadOut(BaseModel):
    marked: int


class PreferencesIO(ApiModel):
    email: bool = True
    in_app: bool = True
    weekly_digest: bool = True
    muted_kinds: list[Literal["budget", "error_rate", "latency", "digest", "budget_forecast"]] = Field(default_factory=list)
