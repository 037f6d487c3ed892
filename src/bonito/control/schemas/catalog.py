"""Provider connections and models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from bonito.control.schemas.common import ApiModel, Name, OutModel

ProviderType = Literal["openai", "azure", "bedrock", "vertex", "anthropic"]
Price = Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=6)]


class ProviderIn(ApiModel):
    name: Name
    type: ProviderType
    credentials: dict[str, Any] = Field(
        default_factory=dict, description="the provider's fields as in bonito.yaml (without `type`)")


class ProviderPatch(ApiModel):
    name: Name | None = None
    credentials: dict[str, Any] | None = None


class ProviderOut(OutModel):
    """A provider connection; its credentials are never part of an answer."""

    id: str
    name: str
    type: str
    created_at: datetime
    updated_at: datetime


class ValidationOut(OutModel):
    id: str
    ok: bool
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class CatalogEntry(OutModel):
    id: str
    name: str
    kind: str


class ModelIn(ApiModel):
    name: Name
    provider_id: Annotated[str, Field(min_length=1, max_length=64)]
    model: Name
    input_cost_per_mtok: Price | None = None
    output_cost_per_mtok: Price | None = None
    cached_input_cost_per_mtok: Price | None = None
    cache_write_cost_per_mtok: Price | None = None
    enabled: bool = True


class ModelPatch(ApiModel):
    name: Name | None = None
    model: Name | None = None
    input_cost_per_mtok: Price | None = None
    output_cost_per_mtok: Price | None = None
    cached_input_cost_per_mtok: Price | None = None
    cache_write_cost_per_mtok: Price | None = None
    enabled: bool | None = None


class ModelOut(OutModel):
    id: str
    name: str
    provider_id: str
    model: str
    input_cost_per_mtok: float | None
    output_cost_per_mtok: float | None
    cached_input_cost_per_mtok: float | None = None
    cache_write_cost_per_mtok: float | None = None
    enabled: bool
    created_at: datetime
