"""Every dashboard page, reached from the main navigation by its name, with traffic recorded: axe-core
finds no serious or critical violation, the keyboard reaches its controls with a visible focus ring,
and the browser logs no console error."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer
from tests.web.accessibility import axe_violations, focus_ring
from tests.web.conftest import register
from tests.web.test_governance_pages import Control, chat, until

# (link in the main navigation, the page's heading)
PAGES = [("Overview", "Overview"), ("Providers", "Providers"), ("Models", "Models"), ("Keys", "Gateway keys"),
         ("Routing", "Routing"), ("Logs", "Logs"), ("Playground", "Playground"), ("Agents", "Agents"),
         ("Costs", "Costs"), ("Budgets", "Budgets & alerts"), ("Members", "Members"), ("Audit", "Audit log"),
         ("Notifications", "Notifications")]
SCREENS = os.environ.get("BONITO_SCREENS_DIR", "/tmp/bonito-screens")  # screenshots for review


async def test_every_page_is_accessible_by_keyboard_with_no_console_error(
        page: Any, platform: BonitoServer, fake: FakeOpenAI) -> None:
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" else None)
    email = await register(page, org="Every Page Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        key = await api.priced_key(fake)
        await api.post("/api/routing-policies", {"name": "chat", "strategy": "failover",
                                                 "targets": [{"model": "gpt-4o-mini"}]})
        await until(lambda: _served(http, key), "the new key serves traffic")
        await until(lambda: _recorded(api), "the request is recorded", timeout_s=20)

    nav = page.get_by_role("navigation", name="Main")
    for link, heading in PAGES:
        # the bell's name also says how many are unread ("Notifications, none unread")
        target = nav.get_by_role("link", name=re.compile(rf"^{link}(,|$)"))
        await target.focus()
        # arrive by keyboard, as a keyboard user does (a focus() after a mouse click draws no ring)
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Tab")
        assert (await focus_ring(page))["visible"], f"the {link} link shows no focus ring"
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        # the page has rendered when focus lands on its heading (where a keyboard user arrives)
        await expect(page.locator("main h1")).to_be_focused()
        await expect(page.locator("[aria-busy=true]")).to_have_count(0)
        await page.wait_for_load_state("networkidle")
        violations = await axe_violations(page)
        assert not violations, f"{link}:\n" + "\n".join(violations)
        await _tab_through(page, link)
        await page.screenshot(path=f"{SCREENS}/{link.lower()}.png", full_page=True)
    assert not console, "\n".join(console)


async def _tab_through(page: Any, link: str) -> None:
    """From the page's heading, Tab reaches each of the page's controls in turn, each with a visible focus
    ring, until focus leaves the page's main content."""
    await page.locator("main h1").focus()
    reached = 0
    path: list[str] = []
    for _ in range(150):
        await page.keyboard.press("Tab")
        if not await page.evaluate("document.getElementById('main').contains(document.activeElement)"):
            break
        ring = await focus_ring(page)
        path.append(f"{ring['tag']} {ring['name']}")
        assert ring["visible"], f"{link}: the focused {ring['tag']} “{ring['name']}” shows no focus ring ({ring}, {path})"
        reached += 1
    assert reached, f"{link}: Tab reaches no control on the page"


async def _served(http: httpx.AsyncClient, key: str) -> bool:
    return (await chat(http, key)).status_code == 200


async def _recorded(api: Control) -> bool:
    return bool((await api.get("/api/gateway/logs?limit=1"))["items"])
