"""Per-org gateway config."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from bonito.config.schema import TagName
from bonito.control.schemas.common import ApiModel, OutModel, PositiveLimit

Ref = Annotated[str, Field(min_length=1, max_length=200)]


class GatewayConfigIn(ApiModel):
    enabled_providers: list[Ref] | None = Field(
        default=None, description="provider ids or names the gateway serves; null = all", max_length=1000)
    default_requests_per_minute: PositiveLimit | None = Field(
        default=None, description="for keys that set no requests_per_minute")
    default_fallbacks: list[Ref] = Field(default_factory=list, max_length=50,
                                         description="model names to fall back to, in order")
    tags: list[TagName] = Field(default_factory=list, max_length=20,
                                description="metadata keys kept as tags on usage records (e.g. team, project)")
    cache: bool = Field(default=True, description="false turns the response cache off for this org")


class GatewayConfigOut(OutModel):
    enabled_providers: list[str] | None = None
    default_requests_per_minute: int | None = None
    default_fallbacks: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    cache: bool = True
    updated_at: datetime | None = None
