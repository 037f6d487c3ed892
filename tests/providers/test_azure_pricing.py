"""The packaged Azure price list: 20+ models, each with a source and a date, found by deployment prefix."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from importlib import resources

import pytest

from bonito.usage.pricing import list_price


@pytest.mark.parametrize("provider", ["azure", "openai", "anthropic"])
def test_every_entry_has_source_and_date(provider: str) -> None:
    data = json.loads(resources.files("bonito.usage").joinpath(f"data/prices/{provider}.json").read_text())
    assert data["provider"] == provider
    assert len(data["models"]) >= (20 if provider != "anthropic" else 10)
    for name, p in data["models"].items():
        assert p["input"] >= 0 and p["output"] >= 0, name
        assert p["source"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p["as_of"]), name


@pytest.mark.parametrize(("deployment", "per_mtok"), [
    ("gpt-4o-mini", ("0.15", "0.6")),
    ("gpt-4o-mini-prod", ("0.15", "0.6")),  # deployments named after their model, with a suffix
    ("gpt-35-turbo-16k", ("3", "4")),
    ("gpt-35-turbo", ("0.5", "1.5")),
    ("text-embedding-3-large", ("0.13", "0")),
])
def test_azure_deployment_prices(deployment: str, per_mtok: tuple[str, str]) -> None:
    price = list_price("azure", deployment)
    assert price is not None
    assert (price.input_per_mtok, price.output_per_mtok) == (Decimal(per_mtok[0]), Decimal(per_mtok[1]))
    assert list_price("azure", "my-custom-deployment") is None  # needs input/output_cost_per_mtok in config
