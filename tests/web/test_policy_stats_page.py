"""The routing page shows a policy's traffic split, failovers, cost and savings (GET .../stats) in a chart."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.server import BonitoServer
from tests.web.conftest import register
from tests.web.test_journey import chat_until_served, connect_provider, create_key


async def add_priced_model(page: Any, name: str, provider: str, input_price: str, output_price: str) -> None:
    await page.get_by_role("link", name="Models").click()
    await page.get_by_label("Public name").fill(name)
    await page.get_by_label("Provider").select_option(label=f"{provider} (openai)")
    await page.get_by_label("Upstream model").fill("gpt-4o-mini-2024-07-18")
    await page.get_by_label("Input price (USD / 1M tokens)").fill(input_price)
    await page.get_by_label("Output price (USD / 1M tokens)").fill(output_price)
    await page.get_by_role("button", name="Add model").click()
    await expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()


async def test_policy_stats_show_the_split_failovers_and_savings(page: Any, platform: BonitoServer,
                                                                 fake: FakeOpenAI) -> None:
    await register(page, org="Savings Co")
    await connect_provider(page, "primary", fake)
    await add_priced_model(page, "cheap", "primary", "1000", "1000")
    await add_priced_model(page, "dear", "primary", "100000", "100000")
    key = await create_key(page, "app")
    await page.get_by_role("link", name="Routing").click()
    await page.get_by_label("Policy name").fill("saver")
    await page.get_by_label("Strategy").select_option("failover")
    await page.get_by_label("Target 1 model").fill("cheap")
    await page.get_by_label("Target 2 model").fill("dear")
    await page.get_by_role("button", name="Create policy").click()
    row = page.get_by_role("row", name=re.compile("saver"))
    await expect(row).to_contain_text("cheap → dear")
    for _ in range(2):
        await chat_until_served(platform, key, "saver")
    fake.fail_next(*[Fault(status=500)] * 3)  # every retry on "cheap" fails: "dear" answers
    raw = await chat_until_served(platform, key, "saver")
    assert raw.headers["x-bonito-model-used"] == "dear"

    chart = row.get_by_role("img", name=re.compile("Requests per target"))
    for _ in range(40):  # the usage writer batches: a request shows within 10 s
        await row.get_by_role("button", name="Stats for saver").click()
        await expect(row.locator(".policy-stats")).to_be_visible()
        if "dear 1" in (await chart.get_attribute("aria-label") or ""):
            break
        await page.wait_for_timeout(250)
    await expect(chart).to_have_attribute("aria-label", re.compile(r"cheap 2, dear 1"))
    facts = row.locator(".policy-stats dl")
    await expect(facts).to_contain_text(re.compile(r"Failovers\s*1"))
    await expect(facts).to_contain_text(re.compile(r"Savings\s*\$\d"))
