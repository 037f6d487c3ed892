"""The playground: a model's answer streams in (text visible before the stream ends), a second model
answers the same prompt side by side, the numbers and the routing decision come from the gateway's own
record, and the page's short-lived key expires and is renewed. Real server, real browser, two fake
upstreams; the key is issued by /api/playground/key, never typed into the page."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
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
    fake = FakeOpenAI(reply="Bonjour depuis le second fournisseur").start()
    yield fake
    fake.stop()


async def two_models(api: Control, first: FakeOpenAI, second: FakeOpenAI) -> None:
    for name, fake, model, price in (("up-a", first, "gpt-4o-mini", 1_000_000), ("up-b", second, "mistral-small", 0)):
        provider = await api.post("/api/providers", {"name": name, "type": "openai",
                                                     "credentials": {"base_url": fake.url, "api_key": fake.api_key}})
        await api.post("/api/models", {"name": model, "provider_id": provider["id"], "model": model,
                                       "input_cost_per_mtok": price, "output_cost_per_mtok": 0})


def answer(page: Any, model: str) -> Any:
    return page.get_by_role("region", name=model, exact=True)


async def test_answers_stream_in_side_by_side_with_cost_and_routing(
        page: Any, platform: BonitoServer, fake: FakeOpenAI, second: FakeOpenAI) -> None:
    email = await register(page, org="Playground Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        await two_models(api, fake, second)
        fake.chunk_delay_s = 0.4  # seven chunks: the answer takes ~3 s to arrive in full

        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Playground").click()
        await expect(page.get_by_role("heading", name="Playground", level=1)).to_be_visible()
        await expect(page.locator("#playground-key")).to_contain_text("short-lived key")
        await page.get_by_label("Model or route").select_option("gpt-4o-mini")
        await page.get_by_label("Compare with").select_option("mistral-small")
        await page.get_by_label("System prompt").fill("Answer briefly.")
        await page.get_by_label("Temperature").fill("0.2")
        await page.get_by_label("Max tokens").fill("64")
        await page.get_by_label("Message").fill("Say hello")
        await page.get_by_role("button", name="Send").click()

        first = answer(page, "gpt-4o-mini")
        text = first.locator("[data-role=answer]")
        # part of the answer is on screen while the stream is still open
        await expect(text).to_contain_text("Hello")
        assert (await text.inner_text()) != fake.reply
        assert await first.locator("[data-role=status]").inner_text() == "Streaming…"
        await expect(text).to_have_text(fake.reply, timeout=20_000)
        await expect(answer(page, "mistral-small").locator("[data-role=answer]")).to_have_text(second.reply)

        stats = first.locator("[data-role=stats]")
        await expect(stats.locator("[data-stat='Answered by']")).to_have_text("gpt-4o-mini")
        await expect(stats.locator("[data-stat=Attempts]")).to_have_text("1")
        await expect(stats.locator("[data-stat='Time to first token']")).to_have_text(re.compile(r"\d.*(ms|s)$"))
        await expect(stats.locator("[data-stat=Tokens]")).to_have_text(re.compile(r"^\d+ in · 5 out$"))
        # the cost shown is the gateway's record of this very request
        request_id = await stats.locator("[data-stat='Request id']").inner_text()
        await expect(stats.locator("[data-stat=Cost]")).to_have_text(re.compile(r"^\$\d"), timeout=20_000)
        logs = (await api.get("/api/gateway/logs?limit=50"))["items"]
        record = next(r for r in logs if r["request_id"] == request_id)
        assert record["key_name"] == f"playground · {email}" and record["stream"] is True
        assert await stats.locator("[data-stat=Cost]").inner_text() == f"${record['cost_usd']}.00"
        assert record["cost_usd"] == str(record["prompt_tokens"])  # $1 per prompt token
        # what the upstream got: the page's parameters, streamed
        sent = next(s.body for s in reversed(fake.requests) if s.path.endswith("/chat/completions"))
        assert sent["messages"] == [{"role": "system", "content": "Answer briefly."},
                                    {"role": "user", "content": "Say hello"}]
        assert sent["temperature"] == 0.2 and sent["max_tokens"] == 64 and sent["stream"] is True

        # the key was issued for this user, for this org, and audited
        events = (await api.get("/api/audit?action=playground.key_issue"))["items"]
        assert events and events[0]["actor_email"] == email
        await page.screenshot(path=f"{SCREENS}/playground.png", full_page=True)


async def test_the_short_lived_key_expires_and_the_page_renews_it(
        page: Any, platform: BonitoServer, fake: FakeOpenAI, second: FakeOpenAI) -> None:
    email = await register(page, org="Expiring Co")
    issued: list[dict[str, Any]] = []

    async def short_lived(route: Any) -> None:
        # the page asks for the default lifetime; this test cannot wait 15 minutes
        response = await route.fetch(post_data=json.dumps({"ttl_s": 5}))
        issued.append(await response.json())
        await route.fulfill(response=response)

    await page.route("**/api/playground/key", short_lived)
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        await two_models(api, fake, second)
        await page.goto("/playground")
        await expect(page.locator("#playground-key")).to_contain_text("valid until")
        await page.get_by_label("Message").fill("Say hello")
        await page.get_by_role("button", name="Send").click()
        await expect(answer(page, "gpt-4o-mini").locator("[data-role=answer]")).to_have_text(fake.reply)
        first_key = issued[0]["key"]

        async def refused() -> bool:
            r = await http.post("/v1/chat/completions", headers={"authorization": f"Bearer {first_key}"},
                                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
            return r.status_code == 401

        await until(refused, "the expired playground key is refused", timeout_s=30)
        await page.get_by_role("button", name="Send").click()
        await expect(answer(page, "gpt-4o-mini").locator("[data-role=status]")).to_have_text("Done.", timeout=20_000)
        await expect(answer(page, "gpt-4o-mini").locator("[data-role=answer]")).to_have_text(fake.reply)
        assert len(issued) >= 2 and issued[-1]["key"] != first_key
        # one live playground key per user: the renewed one replaced the old
        keys = await api.get("/api/gateway/keys")
        assert [k["id"] for k in keys if k["name"].startswith("playground")] == [issued[-1]["id"]]


async def test_a_route_shows_its_routing_decision_and_failover(
        page: Any, platform: BonitoServer, fake: FakeOpenAI, second: FakeOpenAI) -> None:
    email = await register(page, org="Playground Route Co")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        api = await Control.login(http, email)
        await two_models(api, fake, second)
        await api.post("/api/routing-policies", {"name": "chat", "strategy": "failover",
                                                 "targets": [{"model": "gpt-4o-mini"}, {"model": "mistral-small"}]})
    fake.fail_always(Fault(status=503, message="down for maintenance"))
    await page.goto("/playground?model=chat")
    await expect(page.get_by_label("Model or route")).to_have_value("chat")
    await page.get_by_label("Message").fill("Say hello")
    await page.get_by_label("Message").press("Control+Enter")  # sends from the keyboard
    panel = answer(page, "chat")
    await expect(panel.locator("[data-role=answer]")).to_have_text(second.reply, timeout=20_000)
    stats = panel.locator("[data-role=stats]")
    await expect(stats.locator("[data-stat='Answered by']")).to_have_text("mistral-small")
    attempts = int(await stats.locator("[data-stat=Attempts]").inner_text())
    assert attempts >= 2  # the first target failed (with its retries), the second answered
    decision = panel.locator("[data-role=decision]")
    await expect(decision).to_contain_text("Route chat (failover)", timeout=20_000)
    await expect(decision.get_by_role("listitem")).to_have_count(attempts)
    await expect(decision.get_by_role("listitem").last).to_contain_text("mistral-small — ok (HTTP 200)")
    await expect(decision.get_by_role("listitem").first).to_contain_text("gpt-4o-mini")


async def test_playground_key_api_refuses_bad_input_viewers_and_other_orgs(platform: BonitoServer) -> None:
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        assert (await http.post("/api/playground/key", json={})).status_code == 401
        owner = await Control.register(http, "Key Org A")
        other = await Control.register(http, "Key Org B")
        r = await http.post("/api/playground/key", headers=owner.headers, json={"ttl_s": 1})
        assert r.status_code == 422 and "ttl_s" in r.text
        r = await http.post("/api/playground/key", headers=owner.headers, json={"ttl": 60})
        assert r.status_code == 422 and "ttl" in r.text
        created = await owner.post("/api/playground/key", {})
        assert created["key"].startswith("bn-") and created["ttl_s"] == 900
        listed = await owner.get("/api/gateway/keys")
        assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
        assert created["key"] not in json.dumps(listed)
        assert await other.get("/api/gateway/keys") == []
        r = await http.delete(f"/api/gateway/keys/{created['id']}", headers=other.headers)
        assert r.status_code == 404
        # a viewer cannot mint keys, not even short-lived ones
        viewer_email = "viewer-playground@example.com"
        await owner.post("/api/org/members", {"email": viewer_email, "password": "correct horse battery",
                                              "role": "viewer"})
        viewer = await Control.login(http, viewer_email)
        r = await http.post("/api/playground/key", headers=viewer.headers, json={})
        assert r.status_code == 403
