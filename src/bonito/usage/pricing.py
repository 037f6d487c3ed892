"""Per-model prices (USD per million tokens) and the cost of a call, in Decimal.

Cached input (cache reads) and cache writes have their own rates where the
provider publishes them; each defaults to the input rate. Reasoning tokens are
completion tokens and cost the output rate.
"""

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
    cached_input_per_mtok: Decimal | None = None  # None: the input rate
    cache_write_per_mtok: Decimal | None = None  # None: the input rate

    @property
    def cached_rate(self) -> Decimal:
        return self.input_per_mtok if self.cached_input_per_mtok is None else self.cached_input_per_mtok

    @property
    def write_rate(self) -> Decimal:
        return self.input_per_mtok if self.cache_write_per_mtok is None else self.cache_write_per_mtok

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0,
             cache_write_tokens: int = 0) -> Decimal:
        """(prompt − cached − cache_write) × input + cached × cached_input + cache_write × cache_write
        + completion × output, per million, exactly. `prompt_tokens` counts every input token."""
        cached = min(max(cached_tokens, 0), prompt_tokens)
        write = min(max(cache_write_tokens, 0), prompt_tokens - cached)
        fresh = prompt_tokens - cached - write
        return (fresh * self.input_per_mtok + cached * self.cached_rate + write * self.write_rate
                + completion_tokens * self.output_per_mtok) / _MILLION


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
