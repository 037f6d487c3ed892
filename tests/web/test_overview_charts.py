"""The overview's charts draw recorded traffic: cost split by model (and by key), requests, latency and
error rate over time; each chart's table shows the numbers `/api/gateway/usage` reports, the CSV download
holds the same numbers, and the range picker changes the window."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.server import BonitoServer
from tests.web.conftest import register
from tests.web.test_governance_pages import Control, until

SCREENS = os.environ.get("BONITO_SCREENS_DIR", "/tmp/bonito-screens")  # screenshots for review


@pytest.fixture(scope="module")
def second() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(reply="Second upstream").start()
    yield fake
    fake.stop()


async def send(http: httpx.AsyncClient, key: str, model: str) -> int:
    r = await http.post("/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                        json={"model": model, "messages": [{"role": "user", "content": "Hi there"}]})
    return r.status_code


async def test_charts_show_the_recorded_traffic_as_table_and_csv(
        page: Any, platform: BonitoServer, fake: FakeOpenAI, second: FakeOpenAI, tmp_path: Path) -> None:
    email = await register(page, org="Charts Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        for name, up, model, price in (("up-a", fake, "alpha", 1_000_000), ("up-b", second, "beta", 500_000)):
            provider = await api.post("/api/providers", {"name": name, "type": "openai",
                                                         "credentials": {"base_url": up.url, "api_key": up.api_key}})
            await api.post("/api/models", {"name": model, "provider_id": provider["id"], "model": model,
                                           "input_cost_per_mtok": price, "output_cost_per_mtok": 0})
        key = (await api.post("/api/gateway/keys", {"name": "app"}))["key"]
        await until(lambda: _ok(http, key), "the key serves")
        assert await send(http, key, "alpha") == 200
        for _ in range(2):
            assert await send(http, key, "beta") == 200
        second.fail_next(Fault(status=400, message="bad request", error_type="invalid_request_error"))
        assert await send(http, key, "beta") == 400

        async def recorded() -> bool:
            return (await api.get("/api/gateway/usage"))["requests"] == 5

        await until(recorded, "five requests recorded", timeout_s=20)
        usage = await api.get("/api/gateway/usage")
        await api.post("/api/budgets", {"usd": "1000", "period": "monthly"})

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    cost = page.get_by_role("region", name="Cost by model")
    await expect(cost.get_by_role("img")).to_have_attribute("aria-label", re.compile(r"alpha .*beta|beta .*alpha"))
    await expect(cost.locator(".legend li")).to_have_text(["alpha", "beta"])
    await cost.get_by_role("button", name="Show table").click()
    grid = cost.get_by_role("table", name="Cost by model")
    await expect(grid).to_be_visible()
    by_model = {m["model"]: m for m in usage["by_model"]}
    # the table's column sums are what /api/gateway/usage reports per model
    for column, model in ((1, "alpha"), (2, "beta")):
        cells = await grid.locator(f"tbody tr td:nth-of-type({column})").all_inner_texts()
        total = sum(Decimal(c.strip("$")) for c in cells if c != "—")
        assert total == Decimal(by_model[model]["cost_usd_exact"]), (model, cells)

    await expect(page.locator("svg.chart circle")).to_have_count(1)  # all five in one hour
    requests = page.get_by_role("region", name="Requests by model")
    await requests.get_by_role("button", name="Show table").click()
    cells = await requests.get_by_role("table").locator("tbody td").all_inner_texts()
    assert sum(int(c) for c in cells if c != "—") == usage["requests"] == 5

    errors = page.get_by_role("region", name="Error rate")
    await errors.get_by_role("button", name="Show table").click()
    await expect(errors.get_by_role("table").locator("tbody td").last).to_have_text("20%")
    latency = page.get_by_role("region", name="Latency percentiles")
    await expect(latency.locator(".legend li")).to_have_text(["p50", "p95", "p99"])

    async with page.expect_download() as info:
        await cost.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "cost.csv"
    await (await info.value).save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert sum(Decimal(r["alpha (USD)"] or "0") for r in rows) == Decimal(by_model["alpha"]["cost_usd_exact"])
    assert sum(Decimal(r["beta (USD)"] or "0") for r in rows) == Decimal(by_model["beta"]["cost_usd_exact"])
    month = page.get_by_role("region", name="This month")
    await expect(month.locator("[data-stat='Month to date']")).to_have_text("$27.00")
    await expect(month.get_by_role("table", name="Budgets")).to_contain_text("$27.00 of $1,000.00")
    await expect(month.locator("[data-stat=Projected]")).to_contain_text("at this month's pace")
    await page.screenshot(path=f"{SCREENS}/overview-charts.png", full_page=True)

    # split by key; then the range picker: a 7-day window in daily buckets
    await page.get_by_label("Split by").select_option("key")
    await expect(page.get_by_role("region", name="Cost by key").locator(".legend li")).to_have_text(["app"])
    await page.get_by_label("Window").select_option("7d")
    await expect(page).to_have_url(re.compile(r"window=7d&by=key"))
    await expect(page.get_by_role("paragraph").filter(has_text="Last 7 days")).to_be_visible()
    await expect(page.locator("[data-stat=Requests] dd").first).to_have_text("5")


async def _ok(http: httpx.AsyncClient, key: str) -> bool:
    return await send(http, key, "alpha") == 200


async def test_series_api_is_per_org_and_names_a_bad_field(platform: BonitoServer, fake: FakeOpenAI) -> None:
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        busy = await Control.register(http, "Series Busy")
        quiet = await Control.register(http, "Series Quiet")
        key = await busy.priced_key(fake)
        await until(lambda: _ok_model(http, key, "gpt-4o-mini"), "the key serves")

        async def recorded() -> Any:
            body = await busy.get("/api/analytics/series?by=key")
            return body if body["rows"] else None

        body = await until(recorded, "the request shows in the series", timeout_s=20)
        assert [(r["group"], r["requests"], r["cost_usd_exact"]) for r in body["rows"]] == [("ci", 1, "9")]
        assert body["latency"][0]["requests"] == 1 and body["latency"][0]["p50"] is not None
        # another org sees none of it, under any split
        for by in ("model", "provider", "key", "route"):
            assert (await quiet.get(f"/api/analytics/series?by={by}"))["rows"] == []
        r = await http.get("/api/analytics/series?by=colour", headers=busy.headers)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "by"]
        r = await http.get("/api/analytics/series?start=2030-01-02T00:00:00Z&end=2030-01-01T00:00:00Z",
                           headers=busy.headers)
        assert r.status_code == 422 and "end" in r.text


async def _ok_model(http: httpx.AsyncClient, key: str, model: str) -> bool:
    return await send(http, key, model) == 200
