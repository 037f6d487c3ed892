"""Routing policies: the `routes:` of bonito.yaml through the API.

One schema for both: a policy IS a `RouteConfig` (config/schema.py) plus its
name, so every field a route takes in bonito.yaml (rules, smart settings,
attempt timeouts, and any added later) is taken, stored and returned here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    create_model,
    field_serializer,
    model_validator,
)

from bonito.config.schema import RouteConfig, RouteRule, RouteTarget
from bonito.control.schemas.common import ApiModel, Name

RouteKey = Annotated[str, StringConstraints(min_length=8, max_length=200, pattern=r"^rt-[!-~]+$")]


class RoutingPolicyIn(ApiModel, RouteConfig):
    """A route exactly as a `routes:` entry of bonito.yaml takes it, plus its name."""

    name: Name
    key: RouteKey | None = Field(default=None, description="an rt- key to bind to this policy (shown back once)")
    generate_key: bool = Field(default=False, description="make a new rt- key, shown once in the answer")
    # true or false only: through the API a quoted "no" is a mistake, not an opt-out
    cache: StrictBool = Field(default=True, description="false: this route's requests bypass the response cache")


def _all_optional(model: type[BaseModel]) -> type[BaseModel]:
    """`model`'s fields, each optional with its own constraints: a PATCH body."""
    fields: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        optional: Any = f.annotation | None  # type: ignore[operator]  # a type, never None, on a model
        fields[name] = (Annotated[optional, *f.metadata] if f.metadata else optional,
                        Field(default=None, description=f.description))
    return create_model(f"{model.__name__}Patch", __base__=ApiModel, **fields)


class RoutingPolicyPatch(_all_optional(RoutingPolicyIn)):  # type: ignore[misc]  # derived, cannot drift
    """Any fields of a policy; the rest are kept. Objects (`circuit_breaker`, `smart`, `retries`) merge
    field by field, lists (`targets`, `rules`) are replaced; null puts a field back to its default
    (`"key": null` unbinds the rt- key)."""


class RoutingPolicyOut(RouteConfig):
    """A stored policy: every field of a route, and its id, name and key hint. `key` (the plaintext rt-
    key) is only in the answer that made it; null otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    key_prefix: str | None
    key_last4: str | None
    created_at: datetime
    updated_at: datetime

    @field_serializer("targets", "rules")
    def _as_written(self, items: list[RouteTarget] | list[RouteRule]) -> list[dict[str, Any]]:
        # unset members (a target's weight, a rule's other kind of action) left out, as they were posted
        return [item.model_dump(exclude_none=True) for item in items]


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
