"""A newcomer on an empty org: the overview's checklist leads from nothing to a first call. Each step
ticks itself as it is done in the UI; the Python snippet it offers, run as copied with the key the
Keys page showed, makes the first call, and the last step ticks without a reload."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer
from tests.web.conftest import register
from tests.web.test_journey import add_model, connect_provider, create_key

SCREENS = os.environ.get("BONITO_SCREENS_DIR", "/tmp/bonito-screens")  # screenshots for review


async def overview_checklist(page: Any) -> Any:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    return page.get_by_role("region", name="Getting started")


async def test_checklist_from_empty_org_to_first_call(page: Any, platform: BonitoServer, fake: FakeOpenAI) -> None:
    await register(page, org="Newcomer Co")
    checklist = page.get_by_role("region", name="Getting started")
    await expect(checklist).to_contain_text("0 of 5 steps done.")
    await expect(checklist.locator("[data-done=true]")).to_have_count(0)
    await page.screenshot(path=f"{SCREENS}/overview-empty-org.png", full_page=True)

    await connect_provider(page, "local-openai", fake)
    checklist = await overview_checklist(page)
    await expect(checklist.locator("[data-step=provider]")).to_have_attribute("data-done", "true")
    await expect(checklist.locator("[data-step=validate]")).to_have_attribute("data-done", "false")

    await checklist.get_by_role("link", name="Validate the provider").click()
    await page.get_by_role("button", name="Validate local-openai").click()
    await expect(page.get_by_text("local-openai: credentials are valid")).to_be_visible()
    await add_model(page, "gpt-4o-mini", "local-openai")
    key = await create_key(page, "my-app")

    checklist = await overview_checklist(page)
    await expect(checklist).to_contain_text("4 of 5 steps done.")
    python = checklist.locator("[data-snippet=python] pre")
    await expect(python).to_contain_text(f'base_url="{platform.url}/v1"')
    await expect(python).to_contain_text('model="gpt-4o-mini"')
    await expect(checklist.locator("[data-snippet=curl] pre")).to_contain_text(f"{platform.url}/v1/chat/completions")
    await expect(checklist.locator("[data-snippet=node] pre")).to_contain_text(f'baseURL: "{platform.url}/v1"')
    assert key not in await page.content()  # the page never shows the key again

    # the snippet, run as copied, is the first call
    snippet = await python.inner_text()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", snippet, env={**os.environ, "BONITO_API_KEY": key},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == fake.reply
    await expect(checklist.locator("[data-step=call]")).to_have_attribute("data-done", "true", timeout=30_000)
    await expect(checklist).to_contain_text("5 of 5 steps done.")
    await page.screenshot(path=f"{SCREENS}/overview-checklist-done.png", full_page=True)

    # once done, the overview no longer shows it
    await page.reload()
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    await expect(page.locator("[data-stat=Requests]")).to_contain_text("1")
    await expect(page.get_by_role("region", name="Getting started")).to_have_count(0)
