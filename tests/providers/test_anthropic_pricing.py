"""The packaged Anthropic and OpenAI price lists resolve the ids users actually configure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bonito.usage.pricing import list_price


@pytest.mark.parametrize(("provider", "model", "per_mtok"), [
    ("anthropic", "claude-sonnet-4-20250514", ("3", "15")),
    ("anthropic", "claude-sonnet-4-0", ("3", "15")),
    ("anthropic", "claude-opus-4-5-20251101", ("5", "25")),  # not the older Opus 4 price
    ("anthropic", "claude-opus-4-1-20250805", ("15", "75")),
    ("anthropic", "claude-haiku-4-5-20251001", ("1", "5")),
    ("anthropic", "claude-3-5-haiku-latest", ("0.8", "4")),
    ("openai", "gpt-4o-mini-2024-07-18", ("0.15", "0.6")),
    ("openai", "gpt-4o-2024-05-13", ("5", "15")),
    ("openai", "gpt-4.1-nano-2025-04-14", ("0.1", "0.4")),
    ("openai", "o3-mini-2025-01-31", ("1.1", "4.4")),
    ("openai", "gpt-5-mini-2025-08-07", ("0.25", "2")),
])
def test_longest_prefix_price(provider: str, model: str, per_mtok: tuple[str, str]) -> None:
    price = list_price(provider, model)
    assert price is not None
    assert (price.input_per_mtok, price.output_per_mtok) == (Decimal(per_mtok[0]), Decimal(per_mtok[1]))
