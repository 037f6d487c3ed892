"""Gateway keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictBool

from bonito.config.schema import TagValues
from bonito.control.schemas.common import ApiModel, Name, OutModel, PositiveLimit

ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class AllowedScope(ApiModel):
    """What a key may call: these public model (or route) names, and every model of these providers
    (by id or name)."""

    models: list[ModelName] = Field(default_factory=list, max_length=1000)
    providers: list[ModelName] = Field(default_factory=list, max_length=1000)


AllowedModels = list[ModelName] | AllowedScope


class KeyIn(ApiModel):
    name: Name
    requests_per_minute: PositiveLimit | None = None
    tokens_per_minute: PositiveLimit | None = None
    allowed_models: AllowedModels | None = Field(
        default=None, description="omitted or null: every model of the org")
    expires_at: datetime | None = None
    tags: TagValues | None = Field(default=None, description="default tags of this key's requests")
    cache: StrictBool = Field(default=True, description="false: this key's requests are never answered from, "
                              "nor stored in, the response cache")


class KeyPatch(ApiModel):
    name: Name | None = None
    requests_per_minute: PositiveLimit | None = None
    tokens_per_minute: PositiveLimit | None = None
    allowed_models: AllowedModels | None = None
    expires_at: datetime | None = None
    tags: TagValues | None = None
    cache: StrictBool | None = None


class KeyOut(OutModel):
    """A key as listed: its prefix and last four characters, never the key."""

    id: str
    name: str
    key_prefix: str
    key_last4: str
    display: str
    requests_per_minute: int | None
    tokens_per_minute: int | None
    allowed_models: list[str] | dict[str, list[str]] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    created_by: str | None
    tags: dict[str, str] = Field(default_factory=dict)
    cache: bool = True


class KeyCreatedOut(KeyOut):
    key: str = Field(description="the whole key; shown this once")
