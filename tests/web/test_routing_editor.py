"""The routing editor: a policy's traffic shows in the list; every field of a route (strategy, retries,
timeouts, breaker, rules with AND conditions) is edited in place and saved with PATCH, the change serves
traffic, the editor shows the saved values again, and the policy is deleted. (Editing needs
PATCH /api/routing-policies/{id} and the rules fields of the contract's "Routes" section.)"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer
from tests.web.conftest import register
from tests.web.test_governance_pages import Control, until

SCREENS = os.environ.get("BONITO_SCREENS_DIR", "/tmp/bonito-screens")  # screenshots for review


@pytest.fixture(scope="module")
def second() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(reply="Second upstream").start()
    yield fake
    fake.stop()


async def setup_route(api: Control, first: FakeOpenAI, second: FakeOpenAI) -> tuple[dict[str, Any], str]:
    for name, up, model in (("up-a", first, "alpha"), ("up-b", second, "beta")):
        provider = await api.post("/api/providers", {"name": name, "type": "openai",
                                                     "credentials": {"base_url": up.url, "api_key": up.api_key}})
        await api.post("/api/models", {"name": model, "provider_id": provider["id"], "model": model})
    policy = await api.post("/api/routing-policies", {"name": "chat", "strategy": "failover",
                                                      "targets": [{"model": "alpha"}, {"model": "beta"}]})
    # the test sends a few dozen requests in a minute: more than a key's default limit
    key = (await api.post("/api/gateway/keys", {"name": "app", "requests_per_minute": 10_000}))["key"]
    return policy, key


async def ask(http: httpx.AsyncClient, key: str, **extra: Any) -> httpx.Response:
    return await http.post("/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                           json={"model": "chat", "messages": [{"role": "user", "content": "Hi"}], **extra})


async def open_routing(page: Any) -> Any:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Routing").click()
    await expect(page.get_by_role("heading", name="Routing policies", level=1)).to_be_visible()
    return page.locator("tr[data-policy=chat]")


async def test_edit_every_field_in_place_then_delete(page: Any, platform: BonitoServer, fake: FakeOpenAI,
                                                    second: FakeOpenAI) -> None:
    email = await register(page, org="Route Editor Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        policy, key = await setup_route(api, fake, second)
        await until(lambda: _served(http, key), "the route serves")

        async def counted() -> bool:
            return any(r["route"] == "chat" for r in (await api.get("/api/gateway/analytics"))["by_route"])

        await until(counted, "the request is counted for the route", timeout_s=20)
        row = await open_routing(page)
        await expect(row).to_contain_text("1 req")

        await row.get_by_role("button", name="Edit chat").click()
        editor = page.get_by_role("form", name="Edit chat")
        await editor.get_by_label("Strategy").select_option("round_robin")
        await editor.get_by_label("Attempts per target").fill("2")
        await editor.get_by_label(re.compile(r"^Timeout \(seconds\)")).fill("20")
        await editor.get_by_label("Attempt timeout (seconds)").fill("5")
        await editor.get_by_label("Failures to open").fill("3")
        await editor.get_by_label("Cooldown (seconds)").fill("10")
        await editor.get_by_label("Error rate to open").fill("0.5")
        await editor.get_by_role("button", name="Add rule").click()
        await editor.get_by_label("Rule 1 name").fill("premium")
        await editor.get_by_label("Rule 1 matches").select_option("all")
        await editor.get_by_label("Rule 1 condition 1 field").fill("metadata.tier")
        await editor.get_by_label("Rule 1 condition 1 value").fill("premium")
        await editor.get_by_role("button", name="Add condition to rule 1").click()
        await editor.get_by_label("Rule 1 condition 2 field").fill("max_tokens")
        await editor.get_by_label("Rule 1 condition 2 operator").select_option("gte")
        await editor.get_by_label("Rule 1 condition 2 value").fill("1000")
        await editor.locator("[data-rule='1']").get_by_label("beta").check()
        await page.screenshot(path=f"{SCREENS}/routing-editor.png", full_page=True)
        await editor.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_text("Saved policy chat")).to_be_visible()

        saved = await api.get(f"/api/routing-policies/{policy['id']}")
        assert saved["strategy"] == "round_robin" and saved["retries"]["max_attempts"] == 2
        assert saved["timeout_s"] == 20 and saved["attempt_timeout_s"] == 5
        assert saved["circuit_breaker"]["failure_threshold"] == 3 and saved["circuit_breaker"]["cooldown_s"] == 10
        assert saved["circuit_breaker"]["error_rate"] == 0.5
        [rule] = saved["rules"]
        assert rule["name"] == "premium" and rule["targets"] == ["beta"]
        conditions = {(c["field"], c.get("op", "eq"), c["value"]) for c in rule["when"]["all"]}
        assert conditions == {("metadata.tier", "eq", "premium"), ("max_tokens", "gte", 1000)}

        # the rule serves traffic within 2 s: premium and long goes to beta, the rest by the strategy
        deadline = time.monotonic() + 10
        while True:
            used = [(await ask(http, key, metadata={"tier": "premium"}, max_tokens=1000)).headers.get(
                "x-bonito-model-used") for _ in range(4)]
            if used == ["beta"] * 4:
                break
            assert time.monotonic() < deadline, f"the rule did not take effect: {used}"
            await asyncio.sleep(0.2)
        # without the rule's conditions, round robin serves both targets
        others = {(await ask(http, key)).headers["x-bonito-model-used"] for _ in range(4)}
        assert others == {"alpha", "beta"}

        # the editor opens on the saved values
        row = await open_routing(page)
        await row.get_by_role("button", name="Edit chat").click()
        editor = page.get_by_role("form", name="Edit chat")
        await expect(editor.get_by_label("Strategy")).to_have_value("round_robin")
        await expect(editor.get_by_label("Attempt timeout (seconds)")).to_have_value("5")
        await expect(editor.get_by_label("Rule 1 name")).to_have_value("premium")
        await expect(editor.get_by_label("Rule 1 condition 2 operator")).to_have_value("gte")
        await editor.get_by_role("button", name="Cancel").click()
        await expect(page.get_by_role("form", name="Edit chat")).to_have_count(0)

        await row.get_by_role("button", name="Delete chat").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.locator("tr[data-policy=chat]")).to_have_count(0)

        async def gone() -> bool:
            return (await ask(http, key)).status_code == 404

        await until(gone, "the deleted route stops serving")


async def test_smart_settings_round_trip_through_the_editor(page: Any, platform: BonitoServer, fake: FakeOpenAI,
                                                            second: FakeOpenAI) -> None:
    email = await register(page, org="Route Editor Smart Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        policy, _ = await setup_route(api, fake, second)
        row = await open_routing(page)
        await row.get_by_role("button", name="Edit chat").click()
        editor = page.get_by_role("form", name="Edit chat")
        await expect(editor.get_by_label("Strong share")).to_be_hidden()  # smart settings only for smart
        await editor.get_by_label("Strategy").select_option("smart")
        await editor.get_by_label("Strong share").fill("0.3")
        await editor.get_by_label("Scorer timeout (seconds)").fill("0.5")
        await page.screenshot(path=f"{SCREENS}/routing-editor-smart.png", full_page=True)
        await editor.get_by_role("button", name="Save changes").click()
        await expect(page.get_by_text("Saved policy chat")).to_be_visible()
        smart = (await api.get(f"/api/routing-policies/{policy['id']}"))["smart"]
        assert smart["strong_share"] == 0.3 and smart["scorer"] == "builtin" and smart["scorer_timeout_s"] == 0.5
        assert smart["thresholds"] is None

        # reopened on the saved values; strong share off, tier cuts and an own scorer on
        row = await open_routing(page)
        await row.get_by_role("button", name="Edit chat").click()
        editor = page.get_by_role("form", name="Edit chat")
        await expect(editor.get_by_label("Strong share")).to_have_value("0.3")
        await expect(editor.get_by_label("Scorer timeout (seconds)")).to_have_value("0.5")
        await editor.get_by_label("Strong share").fill("")
        await editor.get_by_label("Tier thresholds").fill("0.4, 0.7")
        await editor.get_by_label(re.compile(r"^Scorer \(optional\)")).fill("https://classifier.example/score")
        await editor.get_by_role("button", name="Save changes").click()

        async def cuts_saved() -> Any:
            smart = (await api.get(f"/api/routing-policies/{policy['id']}"))["smart"]
            return smart if smart["thresholds"] is not None else None

        smart = await until(cuts_saved, "the second save lands")  # the first save's notice may still show
        assert smart["thresholds"] == [0.4, 0.7] and smart["strong_share"] is None
        assert smart["scorer"] == "https://classifier.example/score" and smart["scorer_timeout_s"] == 0.5

        row = await open_routing(page)
        await row.get_by_role("button", name="Edit chat").click()
        editor = page.get_by_role("form", name="Edit chat")
        await expect(editor.get_by_label("Tier thresholds")).to_have_value("0.4, 0.7")
        await expect(editor.get_by_label(re.compile(r"^Scorer \(optional\)"))).to_have_value("https://classifier.example/score")
        # a share with an own scorer (and with tier cuts) is refused, named on the form, and nothing changes
        await editor.get_by_label("Strong share").fill("0.2")
        await editor.get_by_role("button", name="Save changes").click()
        await expect(editor.get_by_role("alert")).to_contain_text("smart")
        assert (await api.get(f"/api/routing-policies/{policy['id']}"))["smart"] == smart


async def test_a_bad_value_is_named_on_the_form(page: Any, platform: BonitoServer, fake: FakeOpenAI,
                                               second: FakeOpenAI) -> None:
    email = await register(page, org="Route Editor Bad Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        await setup_route(api, fake, second)
    row = await open_routing(page)
    await row.get_by_role("button", name="Edit chat").click()
    editor = page.get_by_role("form", name="Edit chat")
    await editor.get_by_label("Target 2 model").fill("no-such-model")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(editor.get_by_role("alert")).to_contain_text("targets")
    saved = await api_policy(platform, email)
    assert [t["model"] for t in saved["targets"]] == ["alpha", "beta"]


async def api_policy(platform: BonitoServer, email: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        [policy] = await api.get("/api/routing-policies")
        return dict(policy)


async def _served(http: httpx.AsyncClient, key: str) -> bool:
    return (await ask(http, key)).status_code == 200
