"""The providers page shows how each provider stands: its last validation (kept across reloads), a live
health check, and a warning while it publishes no model."""

from __future__ import annotations

import os
from typing import Any

import httpx
from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.ports import free_port
from tests.support.server import BonitoServer
from tests.web.conftest import register
from tests.web.test_governance_pages import Control

SCREENS = os.environ.get("BONITO_SCREENS_DIR", "/tmp/bonito-screens")  # screenshots for review


async def test_validation_health_and_the_no_model_warning(page: Any, platform: BonitoServer, fake: FakeOpenAI) -> None:
    email = await register(page, org="Provider Status Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        live = await api.post("/api/providers", {"name": "live", "type": "openai",
                                                 "credentials": {"base_url": fake.url, "api_key": fake.api_key}})
        await api.post("/api/providers", {"name": "gone", "type": "openai", "credentials": {
            "base_url": f"http://127.0.0.1:{free_port()}/v1", "api_key": "sk-nothing-listens"}})

        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Providers").click()
        live_row = page.get_by_role("row").filter(has_text="live")
        gone_row = page.get_by_role("row").filter(has_text="gone")
        await expect(live_row.locator("[data-provider-status]")).to_have_text("not validated")
        await expect(live_row.locator("[data-provider-health]")).to_have_text("healthy", timeout=20_000)
        await expect(gone_row.locator("[data-provider-health]")).to_have_text("unreachable", timeout=20_000)
        await expect(live_row.get_by_role("note")).to_have_text("No published models: clients cannot reach it")

        await page.get_by_role("button", name="Validate live").click()
        await expect(live_row.locator("[data-provider-status]")).to_have_text("valid")
        await api.post("/api/models", {"name": "gpt-4o-mini", "provider_id": live["id"], "model": "gpt-4o-mini"})
        await page.reload()
        await expect(live_row.locator("[data-provider-status]")).to_have_text("valid")
        await expect(live_row).to_contain_text("checked ")
        await expect(live_row).to_contain_text("1 published")
        await expect(live_row.get_by_role("note")).to_have_count(0)
        await expect(gone_row.get_by_role("note")).to_be_visible()
        await expect(gone_row.locator("[data-provider-health]")).to_have_text("unreachable", timeout=20_000)
        await page.screenshot(path=f"{SCREENS}/providers-status.png", full_page=True)

        # another org's provider does not exist for this user; neither does its status
        other = await Control.register(http, "Provider Status Other")
        r = await http.get(f"/api/providers/{live['id']}/health", headers=other.headers)
        assert r.status_code == 404
        assert await other.get("/api/provider-status") == []
