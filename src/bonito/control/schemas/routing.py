"""Routing policies (the `routes:` of bonito.yaml, through the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from bonito.control.schemas.common import ApiModel, Name, OutModel

Strategy = Literal["failover", "cost_optimized", "latency_optimized", "balanced", "ab_test", "round_robin",
                   "least_busy", "smart"]


class TargetIn(ApiModel):
    model: Annotated[str, Field(min_length=1, max_length=200)]
    weight: Annotated[float, Field(ge=0, le=1_000_000)] | None = None


class RetriesIn(ApiModel):
    max_attempts: Annotated[int, Field(ge=1, le=5)] = 3


class BreakerIn(ApiModel):
    failure_threshold: Annotated[int, Field(ge=1, le=10_000)] = 5
    cooldown_s: Annotated[float, Field(gt=0, le=86_400)] = 30.0
    error_rate: Annotated[float, Field(gt=0, le=1)] | None = Field(
        default=None, description="also open when this share of the calls in the last window_s failed; null: off")
    window_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    min_requests: Annotated[int, Field(ge=1, le=1_000_000)] = 20


class BreakerOut(OutModel):
    failure_threshold: int
    cooldown_s: float
    error_rate: float | None
    window_s: float
    min_requests: int


class RoutingPolicyIn(ApiModel):
    name: Name
    strategy: Strategy = "failover"
    targets: list[TargetIn] = Field(min_length=1, max_length=50)
    retries: RetriesIn = Field(default_factory=RetriesIn)
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    circuit_breaker: BreakerIn = Field(default_factory=BreakerIn)
    key: Annotated[str, StringConstraints(min_length=8, max_length=200, pattern=r"^rt-[!-~]+$")] | None = Field(
        default=None, description="an rt- key to bind to this policy (shown back once)")
    generate_key: bool = Field(default=False, description="make a new rt- key, shown once in the answer")


class RoutingPolicyOut(OutModel):
    id: str
    name: str
    strategy: str
    targets: list[dict[str, Any]]
    retries: dict[str, int]
    timeout_s: float
    circuit_breaker: BreakerOut
    key_prefix: str | None
    key_last4: str | None
    created_at: datetime
    updated_at: datetime


class RoutingPolicyCreatedOut(RoutingPolicyOut):
    key: str | None = None


class DryRunIn(ApiModel):
    """An optional sample request (OpenAI body) to plan for, as `{"request": {...}}` or the bare body
    itself; nothing is sent upstream."""

    request: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bare_body(cls, data: Any) -> Any:
        if isinstance(data, dict) and "request" not in data:
            return {"request": data}
        return data
