"""The response cache switched from the dashboard: a key created with "Use the response cache" unchecked,
its switch in the keys table, and the routing editor's cache toggle — each saved, shown again after a
reload, and followed by the gateway (`x-bonito-cache`, asked through the openai SDK)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer
from tests.web.accessibility import axe_violations
from tests.web.conftest import _require_browser, register
from tests.web.test_governance_pages import Control, open_page, until

SCREENS = os.environ.get("BONITO_SCREENS_DIR", "/tmp/bonito-screens")  # screenshots for review


@pytest.fixture(scope="module")
def platform(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    """Full mode with the exact cache on (BONITO_CACHE)."""
    _require_browser()
    workdir: Path = tmp_path_factory.mktemp("bonito-web-cache")
    with BonitoServer(workdir, env={"BONITO_CACHE": '{"exact": {"ttl_s": 600}}'}) as srv:
        yield srv


async def cache_header(platform: BonitoServer, key: str, text: str, model: str = "gpt-4o-mini") -> str | None:
    """`x-bonito-cache` of one chat through the openai SDK; None while the gateway does not serve it yet."""
    client = openai.AsyncOpenAI(api_key=key, base_url=platform.url + "/v1", max_retries=0)
    try:
        raw = await client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": text}])
    except (openai.AuthenticationError, openai.NotFoundError):
        return None
    finally:
        await client.close()
    return raw.headers.get("x-bonito-cache")


async def keys_by_name(api: Control) -> dict[str, bool]:
    return {k["name"]: k["cache"] for k in await api.get("/api/gateway/keys")}


async def test_a_keys_cache_is_switched_in_the_table_and_stays_switched(page: Any, platform: BonitoServer,
                                                                       fake: FakeOpenAI) -> None:
    email = await register(page, org="Cache Switch Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        provider = await api.post("/api/providers", {"name": "up", "type": "openai",
                                                     "credentials": {"base_url": fake.url, "api_key": fake.api_key}})
        await api.post("/api/models", {"name": "gpt-4o-mini", "provider_id": provider["id"], "model": "gpt-4o-mini"})

        await open_page(page, "Keys", "Gateway keys")
        await page.get_by_label("Key name").fill("batch")
        use_cache = page.get_by_label("Use the response cache")  # the form's only: the table's switches are named apart
        await expect(use_cache).to_be_checked()  # on unless unchecked
        await use_cache.uncheck()
        await page.get_by_role("button", name="Create key").click()
        shown = page.locator("#new-key-value")
        await expect(shown).to_have_text(re.compile(r"^bn-"))
        key = str(await shown.inner_text())
        assert await keys_by_name(api) == {"batch": False}
        await expect(use_cache).to_be_checked()  # the form is ready for the next key, which caches

        switch = page.get_by_role("switch", name="Response cache for batch")
        await expect(switch).not_to_be_checked()
        text = f"How many moons has Mars? {uuid.uuid4().hex}"
        await until(lambda: cache_header(platform, key, text), "the key serves")
        assert [await cache_header(platform, key, text) for _ in range(2)] == ["miss", "miss"]

        await switch.click()
        await expect(page.get_by_text("Response cache on for key batch")).to_be_visible()
        await until(lambda: _equals(keys_by_name(api), {"batch": True}), "the switch is saved")
        # the gateway follows within the snapshot poll: an answer is stored, the next one is a hit
        await until(lambda: _equals(cache_header(platform, key, text), "hit"), "the key is answered from the cache")

        await page.reload()
        await expect(page.get_by_role("heading", name="Gateway keys", level=1)).to_be_visible()
        switch = page.get_by_role("switch", name="Response cache for batch")
        await expect(switch).to_be_checked()
        assert not await axe_violations(page)
        await page.screenshot(path=f"{SCREENS}/keys-cache-switch.png", full_page=True)

        await switch.press("Space")  # by keyboard too
        await expect(page.get_by_text("Response cache off for key batch")).to_be_visible()
        await expect(switch).to_be_focused()
        await until(lambda: _equals(keys_by_name(api), {"batch": False}), "the switch is saved")
        await until(lambda: _equals(cache_header(platform, key, text), "miss"), "the key bypasses the cache")
        await page.reload()
        await expect(page.get_by_role("switch", name="Response cache for batch")).not_to_be_checked()


async def test_the_routing_editor_turns_a_routes_cache_off(page: Any, platform: BonitoServer,
                                                           fake: FakeOpenAI) -> None:
    email = await register(page, org="Route Cache Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        key = await api.priced_key(fake)
        policy = await api.post("/api/routing-policies", {"name": "chat", "targets": [{"model": "gpt-4o-mini"}]})
        assert policy["cache"] is True
        text = f"What colour is the sky on Mars? {uuid.uuid4().hex}"
        await until(lambda: _equals(cache_header(platform, key, text, "chat"), "hit"), "the route caches")

        await open_page(page, "Routing", "Routing policies")
        row = page.locator("tr[data-policy=chat]")
        await row.get_by_role("button", name="Edit chat").click()
        editor = page.get_by_role("form", name="Edit chat")
        toggle = editor.get_by_role("checkbox", name=re.compile(r"^Use the response cache"))
        await expect(toggle).to_be_checked()
        assert not await axe_violations(page)
        await toggle.uncheck()
        await editor.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_text("Saved policy chat")).to_be_visible()

        async def saved() -> bool:
            return (await api.get(f"/api/routing-policies/{policy['id']}"))["cache"] is False

        await until(saved, "the route's switch is saved")
        await until(lambda: _equals(cache_header(platform, key, text, "chat"), "miss"), "the route bypasses the cache")
        assert await cache_header(platform, key, text, "chat") == "miss"

        await page.reload()
        await expect(page.get_by_role("heading", name="Routing policies", level=1)).to_be_visible()
        await page.locator("tr[data-policy=chat]").get_by_role("button", name="Edit chat").click()
        editor = page.get_by_role("form", name="Edit chat")
        toggle = editor.get_by_role("checkbox", name=re.compile(r"^Use the response cache"))
        await expect(toggle).not_to_be_checked()


async def _equals(value: Any, expected: Any) -> bool:
    """Whether the awaited `value` is `expected` (for `until`)."""
    return bool(await value == expected)


async def test_a_policy_created_with_the_cache_unchecked_is_made_without_it(page: Any, platform: BonitoServer,
                                                                            fake: FakeOpenAI) -> None:
    email = await register(page, org="Route Create Cache Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        key = await api.priced_key(fake)
        await open_page(page, "Routing", "Routing policies")
        form = page.get_by_role("form", name="Create a policy")
        await form.get_by_label("Policy name").fill("nocache")
        await form.locator("input[name='target.0.model']").fill("gpt-4o-mini")
        box = form.get_by_role("checkbox", name=re.compile(r"^Use the response cache"))
        await expect(box).to_be_checked()  # on unless unchecked, as the API's default
        await box.press("Space")  # by keyboard
        await expect(box).not_to_be_checked()
        await form.get_by_role("button", name="Create policy").click()
        await expect(page.get_by_text("Created policy nocache")).to_be_visible()
        await expect(box).to_be_checked()  # the form is reset for the next policy
        row = page.locator("tr[data-policy=nocache]")
        await expect(row.get_by_role("cell", name="off", exact=True)).to_be_visible()
        assert not await axe_violations(page)

        policies = {p["name"]: p for p in await api.get("/api/routing-policies")}
        assert policies["nocache"]["cache"] is False
        text = f"Name a moon of Jupiter. {uuid.uuid4().hex}"
        await until(lambda: _equals(cache_header(platform, key, text, "nocache"), "miss"), "the route is served")
        assert await cache_header(platform, key, text, "nocache") == "miss"  # asked again: still not from the cache
