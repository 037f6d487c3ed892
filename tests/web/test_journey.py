"""The journey a new team takes: connect a provider, add a model, make a key, send traffic,
see it in logs and the overview, then revoke the key. Real server, real browser, real SDK."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import openai
import pytest
from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer
from tests.web.conftest import register


async def connect_provider(page: Any, name: str, fake: FakeOpenAI) -> None:
    await page.get_by_role("link", name="Providers").click()
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Type").select_option("openai")
    await page.get_by_label("API key").fill(fake.api_key)
    await page.get_by_label("Base URL").fill(fake.url)
    await page.get_by_role("button", name="Connect provider").click()
    await expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()


async def add_model(page: Any, name: str, provider: str) -> None:
    await page.get_by_role("link", name="Models").click()
    await page.get_by_label("Public name").fill(name)
    await page.get_by_label("Provider").select_option(label=f"{provider} (openai)")
    await page.get_by_label("Upstream model").fill("gpt-4o-mini-2024-07-18")
    # high prices so one small request costs a visible amount
    await page.get_by_label("Input price (USD / 1M tokens)").fill("150000")
    await page.get_by_label("Output price (USD / 1M tokens)").fill("600000")
    await page.get_by_role("button", name="Add model").click()
    await expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()


async def create_key(page: Any, name: str) -> str:
    await page.get_by_role("link", name="Keys").click()
    await page.get_by_label("Key name").fill(name)
    await page.get_by_role("button", name="Create key").click()
    shown = page.locator("#new-key-value")
    await expect(shown).to_have_text(re.compile(r"^bn-\S{16,}$"))
    return str(await shown.inner_text())


async def chat_until_served(srv: BonitoServer, key: str, model: str, timeout_s: float = 5.0) -> Any:
    """A change made through the API serves traffic within 2 s; allow some slack."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return srv.openai(key).chat.completions.with_raw_response.create(
                model=model, messages=[{"role": "user", "content": "Say hello to the dashboard"}])
        except (openai.AuthenticationError, openai.NotFoundError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def wait_for_log_row(page: Any, request_id: str, timeout_s: float = 12.0) -> Any:
    """A request appears in the logs within 10 s: reload the page until it does."""
    row = page.locator(f"tr.log-row[data-request-id='{request_id}']")
    deadline = time.monotonic() + timeout_s
    while await row.count() == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        await page.reload()
        await expect(page.get_by_role("heading", name="Logs")).to_be_visible()
    await expect(row).to_be_visible()
    return row


async def test_connect_model_key_traffic_logs_overview_revoke(page: Any, platform: BonitoServer,
                                                              fake: FakeOpenAI) -> None:
    await register(page, org="Journey Inc")
    await connect_provider(page, "local-openai", fake)
    assert fake.api_key not in await page.content(), "a credential came back to the page"
    await page.get_by_role("button", name="Validate local-openai").click()
    await expect(page.locator("[data-provider-status]")).to_have_text("valid")

    await add_model(page, "gpt-4o-mini", "local-openai")
    await expect(page.get_by_role("row", name=re.compile("gpt-4o-mini"))).to_contain_text("$150000")

    key = await create_key(page, "ci")
    await expect(page.get_by_role("button", name="Copy")).to_be_visible()
    masked = page.locator("code.masked-key")
    await expect(masked).to_have_text(re.compile(rf"^bn-.*{re.escape(key[-4:])}$"))
    assert await masked.inner_text() != key
    # the plaintext is shown once: gone after leaving the page
    await page.get_by_role("link", name="Overview").click()
    await page.get_by_role("link", name="Keys").click()
    await expect(masked).to_have_count(1)
    assert key not in await page.content()

    raw = await chat_until_served(platform, key, "gpt-4o-mini")
    request_id = raw.headers["x-request-id"]
    completion = raw.parse()
    assert completion.choices[0].message.content == fake.reply
    tokens = completion.usage.total_tokens

    await page.get_by_role("link", name="Logs").click()
    row = await wait_for_log_row(page, request_id)
    await expect(row).to_contain_text("gpt-4o-mini")
    await expect(row.locator("td").nth(3)).to_have_text("200")
    await expect(row.locator("td").nth(4)).to_have_text(str(tokens))
    await page.get_by_role("button", name=request_id).click()
    detail = page.locator("tr.log-detail:visible")
    await expect(detail).to_contain_text("Model used")
    await expect(detail).to_contain_text("Route")
    await expect(detail).to_contain_text("local-openai")
    # the gateway records why it routed as it did; the row shows it (needs `decision` in /api/gateway/logs items)
    await expect(detail.get_by_role("heading", name="Routing decision")).to_be_visible()
    await expect(detail.get_by_role("list", name="Targets in the order they are tried")).to_contain_text("gpt-4o-mini")
    await expect(detail.locator(".attempts")).to_contain_text("ok")

    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export CSV").click()
    csv_path = await (await download.value).path()
    csv_text = csv_path.read_text()
    assert request_id in csv_text and csv_text.splitlines()[0].count(",") >= 5

    await page.get_by_role("link", name="Overview").click()
    await expect(page.locator("[data-stat=Requests] dd").first).to_have_text("1")
    await expect(page.locator("[data-stat=Tokens] dd").first).to_have_text(str(tokens))
    await expect(page.locator("[data-stat=Cost] dd").first).not_to_have_text(re.compile(r"^(\$0\.00|—)$"))
    await expect(page.locator("svg.chart circle")).to_have_count(1)

    await page.get_by_role("link", name="Keys").click()
    await page.get_by_role("button", name="Revoke ci").click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    await expect(page.get_by_text("No active keys")).to_be_visible()
    deadline = time.monotonic() + 5
    while True:
        try:
            platform.openai(key).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "still there?"}])
        except openai.AuthenticationError:
            break
        if time.monotonic() > deadline:
            pytest.fail("a revoked key still served traffic after 5 s")
        await asyncio.sleep(0.2)


async def test_routing_policy_dry_run_shows_the_plan(page: Any, fake: FakeOpenAI) -> None:
    await register(page, org="Routing Co")
    await connect_provider(page, "primary", fake)
    await add_model(page, "fast", "primary")
    await add_model(page, "backup", "primary")
    await page.get_by_role("link", name="Routing").click()
    await page.get_by_label("Policy name").fill("production-chat")
    await page.get_by_label("Strategy").select_option("failover")
    await page.get_by_label("Target 1 model").fill("fast")
    await page.get_by_label("Target 2 model").fill("backup")
    await page.get_by_label("Generate an rt- key bound to this policy (shown once)").check()
    await page.get_by_role("button", name="Create policy").click()
    route_key = page.locator("#new-key-value")
    await expect(route_key).to_have_text(re.compile(r"^rt-\S{8,}$"))
    last4 = (await route_key.inner_text())[-4:]
    row = page.get_by_role("row", name=re.compile("production-chat"))
    await expect(row).to_contain_text("fast → backup")
    await expect(row.locator("code")).to_have_text(re.compile(rf"^rt-.*{re.escape(last4)}$"))
    await row.get_by_role("button", name="Test production-chat").click()
    plan = row.locator(".plan")
    steps = plan.get_by_role("list", name="Targets in the order they are tried").get_by_role("listitem")
    await expect(steps).to_have_count(2)
    await expect(steps.first).to_contain_text("fast")
    await expect(steps.nth(1)).to_contain_text("backup")
    await expect(plan).to_contain_text("failover")
    await expect(plan.locator("dt", has_text="Reason")).to_be_visible()
    assert [r for r in fake.requests if "chat" in r.path] == [], "a dry run must not call the upstream"


async def test_delete_provider_after_confirming(page: Any, fake: FakeOpenAI) -> None:
    await register(page, org="Cleanup Ltd")
    await connect_provider(page, "temporary", fake)
    await page.get_by_role("button", name="Delete temporary").click()
    await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("cell", name="temporary", exact=True)).to_be_visible()
    await page.get_by_role("button", name="Delete temporary").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("No providers yet")).to_be_visible()


async def test_bad_provider_credentials_are_reported_on_the_form(page: Any) -> None:
    await register(page, org="Typo GmbH")
    await page.get_by_role("link", name="Providers").click()
    await page.get_by_label("Name", exact=True).fill("vertex-without-project")
    await page.get_by_label("Type").select_option("vertex")
    # skip the browser's own required-field check so the server's answer is what shows
    await page.locator("form").first.evaluate("f => { f.noValidate = true; }")
    await page.get_by_role("button", name="Connect provider").click()
    await expect(page.locator("form .form-error")).to_contain_text("project")
    await expect(page.get_by_label("Project")).to_have_attribute("aria-invalid", "true")


async def test_usable_by_keyboard_and_on_a_phone(page: Any) -> None:
    await register(page, org="Mobile")
    await page.set_viewport_size({"width": 375, "height": 740})
    await page.reload()
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        "the page scrolls sideways on a phone"
    # the skip link is the first stop; every app link is reachable with Tab and opens with Enter
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    logs = page.get_by_role("navigation", name="Main").get_by_role("link", name="Logs")
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await logs.evaluate("el => el === document.activeElement"):
            break
    await expect(logs).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/logs$"))
    await expect(page.get_by_role("heading", name="Logs", level=1)).to_be_focused()
