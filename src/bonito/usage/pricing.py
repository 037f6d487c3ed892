"""Per-model prices (USD per million tokens) and the cost of a call, in Decimal."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Price:
    input_per_mtok: Decimal
    output_per_mtok: Decimal

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        """prompt × input / 10⁶ + completion × output / 10⁶, exactly."""
        return (prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / _MILLION


ZERO = Price(Decimal(0), Decimal(0))
_BEDROCK_REGION_PREFIXES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})


@cache
def _table() -> dict[str, dict[str, Price]]:
    table: dict[str, dict[str, Price]] = {}
    for entry in resources.files("bonito.usage").joinpath("data/prices").iterdir():
        if not entry.name.endswith(".json"):
            continue
        raw = json.loads(entry.read_text())
        table[raw["provider"]] = {
            name: Price(Decimal(str(p["input"])), Decimal(str(p["output"]))) for name, p in raw["models"].items()
        }
    return table


def list_price(provider_type: str, upstream_model: str) -> Price | None:
    """The published price for a provider's model, matching the longest known prefix."""
    models = _table().get(provider_type, {})
    if upstream_model in models:
        return models[upstream_model]
    if provider_type == "bedrock":
        # cross-region inference profiles ("us.", "eu.", "global.", …) cost what the model costs
        head, dot, rest = upstream_model.partition(".")
        if dot and head in _BEDROCK_REGION_PREFIXES and rest in models:
            return models[rest]
    best = ""
    for name in models:
        if upstream_model.startswith(name) and len(name) > len(best):
            best = name
    return models[best] if best else None


def resolve_price(
    provider_type: str, upstream_model: str, input_override: Decimal | None, output_override: Decimal | None
) -> Price:
    """Config overrides win; otherwise the package price list; otherwise zero."""
    listed = list_price(provider_type, upstream_model) or ZERO
    return Price(
        input_override if input_override is not None else listed.input_per_mtok,
        output_override if output_override is not None else listed.output_per_mtok,
    )
