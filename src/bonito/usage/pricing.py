"""Per-model prices (USD per million tokens) and the cost of a call, in Decimal.

Cached input (cache reads) and cache writes have their own rates where the
provider publishes them; each defaults to the input rate. Reasoning tokens are
completion tokens and cost the output rate.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources

from bonito.snapshot.price import Price

ZERO = Price(Decimal(0), Decimal(0))
_BEDROCK_REGION_PREFIXES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})


def _dec(v: object) -> Decimal | None:
    return None if v is None else Decimal(str(v))


@cache
def _table() -> dict[str, dict[str, Price]]:
    table: dict[str, dict[str, Price]] = {}
    for entry in resources.files("bonito.usage").joinpath("data/prices").iterdir():
        if not entry.name.endswith(".json"):
            continue
        raw = json.loads(entry.read_text())
        table[raw["provider"]] = {
            name: Price(Decimal(str(p["input"])), Decimal(str(p["output"])), _dec(p.get("cached_input")),
                        _dec(p.get("cache_write")))
            for name, p in raw["models"].items()
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
    provider_type: str, upstream_model: str, input_override: Decimal | None, output_override: Decimal | None,
    cached_override: Decimal | None = None, write_override: Decimal | None = None,
) -> Price:
    """Config overrides win; otherwise the package price list; otherwise zero. An input price set in
    config without a cached or write price makes those the configured input price (the listed
    discount belongs to the listed price)."""
    listed = list_price(provider_type, upstream_model) or ZERO
    if input_override is not None:
        cached = cached_override
        write = write_override
    else:
        cached = cached_override if cached_override is not None else listed.cached_input_per_mtok
        write = write_override if write_override is not None else listed.cache_write_per_mtok
    return Price(
        input_override if input_override is not None else listed.input_per_mtok,
        output_override if output_override is not None else listed.output_per_mtok,
        cached, write,
    )
