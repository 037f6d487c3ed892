"""The governance pages: budgets and alert rules, the notification bell and inbox, members and
roles, and the audit log. Real server, real browser; notifications come from real gateway
traffic crossing a budget, never from rows written by the test."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from typing import Any

import httpx
from playwright.async_api import expect

from tests.alerts.receivers import WebhookReceiver
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.ports import free_port
from tests.support.server import BonitoServer
from tests.web.conftest import PASSWORD, register, unique_email


class Control:
    """The control-plane API, signed in as one user (for what the test sets up off-page)."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"authorization": f"Bearer {token}"}

    @classmethod
    async def login(cls, http: httpx.AsyncClient, email: str) -> Control:
        r = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return cls(http, r.json()["access_token"])

    @classmethod
    async def register(cls, http: httpx.AsyncClient, org: str) -> Control:
        r = await http.post("/api/auth/register", json={"email": unique_email(), "password": PASSWORD,
                                                         "org_name": org})
        assert r.status_code == 201, r.text
        return cls(http, r.json()["access_token"])

    async def get(self, path: str) -> Any:
        r = await self.http.get(path, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        r = await self.http.post(path, headers=self.headers, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    async def priced_key(self, fake: FakeOpenAI) -> str:
        """A provider, a model at $1 per prompt token (one chat costs $9) and a gateway key; the key."""
        provider = await self.post("/api/providers", {"name": "local-openai", "type": "openai",
                                                      "credentials": {"base_url": fake.url, "api_key": fake.api_key}})
        await self.post("/api/models", {"name": "gpt-4o-mini", "provider_id": provider["id"], "model": "gpt-4o-mini",
                                        "input_cost_per_mtok": 1_000_000, "output_cost_per_mtok": 0})
        return str((await self.post("/api/gateway/keys", {"name": "ci"}))["key"])


async def chat(http: httpx.AsyncClient, key: str) -> httpx.Response:
    return await http.post("/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                           json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi there"}]})


async def until(check: Any, what: str, timeout_s: float = 10.0) -> Any:
    """Poll an async check until it answers something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        await asyncio.sleep(0.1)


async def open_page(page: Any, link: str, heading: str) -> None:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=True).click()
    await expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


async def test_budget_and_alert_rule_are_created_listed_changed_and_deleted(page: Any) -> None:
    await register(page, org="Budget Co")
    await open_page(page, "Budgets", "Budgets & alerts")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Budgets")).to_have_attribute("aria-current", "page")

    await page.get_by_label("Applies to").select_option(label="The whole organization")
    await page.get_by_label("Budget (USD)").fill("25")
    await page.get_by_label("Period").select_option("weekly")
    await page.get_by_role("button", name="Set budget").click()
    budgets = page.get_by_role("region", name="Budgets")
    row = budgets.get_by_role("row", name=re.compile("Organization"))
    await expect(row).to_contain_text("$25.00 / week")
    await expect(row).to_contain_text("$0.00 of $25.00 (0.0%)")
    await expect(row).to_contain_text("Refuse requests")
    # one budget per scope: the server's refusal shows on the form
    await page.get_by_label("Budget (USD)").fill("30")
    await page.get_by_role("button", name="Set budget").click()
    await expect(page.locator("form", has=page.get_by_role("button", name="Set budget")).locator(".form-error")) \
        .to_contain_text("already has a budget")
    await page.reload()
    await expect(page.get_by_role("heading", name="Budgets & alerts", level=1)).to_be_visible()
    await expect(row).to_contain_text("$25.00 / week")

    await page.get_by_label("Rule name").fill("error spike")
    await page.get_by_label("Alert on", exact=True).select_option("error_rate")
    await page.get_by_label("Threshold", exact=True).fill("5")
    await page.get_by_label("Window (minutes)").fill("10")
    await page.get_by_label("Minimum requests").fill("50")
    await page.get_by_role("checkbox", name="Webhooks").uncheck()
    await page.get_by_role("button", name="Create rule").click()
    rule = page.get_by_role("region", name="Alert rules").get_by_role("row", name=re.compile("error spike"))
    await expect(rule).to_contain_text("5% of requests failing")
    await expect(rule).to_contain_text("10 min, ≥ 50 requests")
    await expect(rule).to_contain_text("In the app, Email")
    await expect(rule).to_contain_text("Enabled")
    await rule.get_by_role("button", name="Disable error spike").click()
    await expect(rule).to_contain_text("Disabled")
    await rule.get_by_label("New threshold for error spike").fill("7.5")
    await rule.get_by_role("button", name="Update error spike").click()
    await expect(rule).to_contain_text("7.5% of requests failing")
    await page.reload()
    await expect(rule).to_contain_text("Disabled")
    await expect(rule).to_contain_text("7.5% of requests failing")

    await budgets.get_by_role("button", name="Delete budget for Organization").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(budgets.get_by_text("No budgets")).to_be_visible()
    await rule.get_by_role("button", name="Delete rule error spike").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("region", name="Alert rules").get_by_text("No alert rules")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("region", name="Budgets").get_by_text("No budgets")).to_be_visible()


async def test_webhook_secret_is_shown_once(page: Any) -> None:
    await register(page, org="Hooks Co")
    await open_page(page, "Budgets", "Budgets & alerts")
    await page.get_by_label("Webhook URL").fill("http://127.0.0.1:9/bonito-alerts")
    await page.get_by_role("button", name="Add webhook").click()
    secret = page.locator("#new-key-value")
    await expect(secret).to_have_text(re.compile(r"^whsec_\S{20,}$"))
    plaintext = await secret.inner_text()
    hooks = page.get_by_role("region", name="Alert webhooks")
    await expect(hooks.get_by_role("cell", name="http://127.0.0.1:9/bonito-alerts", exact=True)).to_be_visible()
    await open_page(page, "Overview", "Overview")
    await open_page(page, "Budgets", "Budgets & alerts")
    await expect(hooks.get_by_role("cell", name="http://127.0.0.1:9/bonito-alerts", exact=True)).to_be_visible()
    assert plaintext not in await page.content()
    await hooks.get_by_role("button", name="Delete webhook http://127.0.0.1:9/bonito-alerts").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    await expect(hooks.get_by_text("No webhooks")).to_be_visible()


async def test_budget_is_edited_in_place_and_keeps_the_change(page: Any) -> None:
    await register(page, org="Edited Co")
    await open_page(page, "Budgets", "Budgets & alerts")
    await page.get_by_label("Budget (USD)").fill("5")
    await page.get_by_label("Period").select_option("monthly")
    await page.get_by_label("Throttle from (% of budget)").fill("80")
    await page.get_by_label("Throttled requests per minute").fill("12")
    await page.get_by_role("button", name="Set budget").click()
    row = page.get_by_role("region", name="Budgets").get_by_role("row", name=re.compile("Organization"))
    await expect(row).to_contain_text("$5.00 / month")
    await expect(row).to_contain_text("Refuse requests")
    await expect(row).to_contain_text("Throttled to 12/min from 80%")

    dialog = page.get_by_role("dialog", name="Edit the budget for Organization")
    amount = dialog.get_by_label("Budget (USD)")
    # cancelled: nothing changes
    await row.get_by_role("button", name="Edit budget for Organization").click()
    await expect(amount).to_be_focused()
    await expect(amount).to_have_value("5")
    await amount.fill("99")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(row).to_contain_text("$5.00 / month")

    # a bad amount: the server's refusal names it in the form, which stays open with what was typed
    await row.get_by_role("button", name="Edit budget for Organization").click()
    await amount.fill("0")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.get_by_role("alert")).to_contain_text(re.compile(r"^usd: .*greater than 0.*HTTP 422"))
    await expect(amount).to_have_attribute("aria-invalid", "true")
    await expect(amount).to_have_value("0")
    await expect(row).to_contain_text("$5.00 / month")

    # $2.50 and alert-only; the throttle is left as it was
    await amount.fill("2.50")
    await dialog.get_by_label("Refuse requests once the budget is spent").uncheck()
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_have_count(0)
    await expect(row).to_contain_text("$2.50 / month")
    await expect(row).to_contain_text("Alert only")
    await expect(row).not_to_contain_text("Refuse requests")
    await expect(row).to_contain_text("Throttled to 12/min from 80%")
    await page.reload()
    await expect(page.get_by_role("heading", name="Budgets & alerts", level=1)).to_be_visible()
    await expect(row).to_contain_text("$2.50 / month")
    await expect(row).to_contain_text("$0.00 of $2.50 (0.0%)")
    await expect(row).to_contain_text("Alert only")

    # change the throttle, then remove it
    await row.get_by_role("button", name="Edit budget for Organization").click()
    await expect(amount).to_have_value("2.5")
    await expect(dialog.get_by_label("Refuse requests once the budget is spent")).not_to_be_checked()
    await dialog.get_by_label("Throttled requests per minute").fill("30")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_have_count(0)
    await expect(row).to_contain_text("Throttled to 30/min from 80%")
    await row.get_by_role("button", name="Edit budget for Organization").click()
    await dialog.get_by_label("Remove the throttle").check()
    await expect(dialog.get_by_label("Throttled requests per minute")).to_be_disabled()
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_have_count(0)
    await expect(row).not_to_contain_text("Throttled")
    await expect(row).to_contain_text("$2.50 / month")
    await expect(row).to_contain_text("Alert only")
    await page.reload()
    await expect(page.get_by_role("heading", name="Budgets & alerts", level=1)).to_be_visible()
    await expect(row).to_contain_text("$2.50 / month")
    await expect(row).not_to_contain_text("Throttled")


def hook_row(hooks: Any, url: str) -> Any:
    return hooks.get_by_role("row").filter(has=hooks.page.get_by_role("cell", name=url, exact=True))


async def test_webhook_test_event_is_sent_signed_and_its_outcome_shown(page: Any) -> None:
    await register(page, org="Tested Hooks")
    await open_page(page, "Budgets", "Budgets & alerts")
    hooks = page.get_by_role("region", name="Alert webhooks")
    closed = f"http://127.0.0.1:{free_port()}/hooks/bonito"  # nothing listens there
    with WebhookReceiver(secret="whsec_" + "t" * 40) as receiver:
        await page.get_by_label("Webhook URL").fill(receiver.url)
        await page.get_by_label("Signing secret").fill(receiver.secret)
        await page.get_by_role("button", name="Add webhook").click()
        await expect(hook_row(hooks, receiver.url)).to_be_visible()
        await page.get_by_label("Webhook URL").fill(closed)
        await page.get_by_role("button", name="Add webhook").click()
        live, dead = hook_row(hooks, receiver.url), hook_row(hooks, closed)
        await expect(dead).to_be_visible()
        await expect(live.get_by_role("status")).to_have_text("")

        await live.get_by_role("button", name=f"Send test to {receiver.url}").click()
        await expect(live.get_by_role("status")).to_have_text("Test event delivered")
        await expect(live.get_by_role("status")).to_have_attribute("data-ok", "true")
        (delivery,) = receiver.deliveries
        assert delivery.signature_ok
        assert delivery.body["type"] == "alert.test" and delivery.headers["X-Bonito-Event"] == "alert.test"

        # the refusal's reason shows beside that row only
        await dead.get_by_role("button", name=f"Send test to {closed}").click()
        await expect(dead.get_by_role("status")).to_have_text(re.compile(r"^Not delivered: .*Cannot connect"))
        await expect(dead.get_by_role("status")).to_have_attribute("data-ok", "false")
        await expect(live.get_by_role("status")).to_have_text("Test event delivered")
        assert len(receiver.deliveries) == 1


async def test_budget_crossed_by_traffic_rings_the_bell_and_the_inbox_marks_read(
        page: Any, platform: BonitoServer, fake: FakeOpenAI) -> None:
    email = await register(page, org="Alerted Ltd")
    await page.clock.install()  # so the test can let the bell's 30 s poll come round at once
    await page.reload()
    bell = page.locator("#bell")
    await expect(bell).to_have_attribute("data-unread", "0")
    await expect(page.locator("#unread-count")).to_be_hidden()
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        me = await Control.login(http, email)
        key = await me.priced_key(fake)
        # through the page: an alert at 90 % of the budget (on top of the default 50/80/100 %) and a $1 daily budget
        await open_page(page, "Budgets", "Budgets & alerts")
        await page.get_by_label("Rule name").fill("nearly there")
        await page.get_by_label("Alert on", exact=True).select_option("budget")
        await page.get_by_label("Threshold", exact=True).fill("90")
        await page.get_by_role("button", name="Create rule").click()
        await expect(page.get_by_role("row", name=re.compile("nearly there"))).to_contain_text("90% of a budget")
        await page.get_by_label("Budget (USD)").fill("1")
        await page.get_by_label("Period").select_option("daily")
        await page.get_by_role("button", name="Set budget").click()
        budget_row = page.get_by_role("region", name="Budgets").get_by_role("row", name=re.compile("Organization"))
        await expect(budget_row).to_contain_text("$0.00 of $1.00")

        # Changes reach the gateway as one snapshot: once another org's budget, set after ours, refuses
        # its key, ours (and our rule) are in force too. Only then does our traffic cross the budget.
        probe = await Control.register(http, "Probe Org")
        probe_key = await probe.priced_key(fake)
        await until(lambda: _status_is(http, probe_key, 200), "the probe's key serves")
        await probe.post("/api/budgets", {"usd": "1", "period": "daily"})
        await until(lambda: _status_is(http, probe_key, 429), "the probe's budget refuses")

        served = await chat(http, key)  # starts at $0 of $1, so it is served, and spends $9
        assert served.status_code == 200, served.text
        await until(lambda: _unread(me, 4), "four budget notifications (50, 80, 90 and 100 %)")

        # the bell polls: half a minute later it shows them, with no navigation
        await expect(bell).to_have_attribute("data-unread", "0")
        await page.clock.fast_forward("00:31")
        await expect(page.get_by_role("link", name="Notifications, 4 unread")).to_be_visible()
        await expect(page.locator("#unread-count")).to_have_text("4")
        # read elsewhere (another tab): the bell catches up on the next navigation
        oldest = (await me.get("/api/notifications"))["items"][-1]
        r = await http.post(f"/api/notifications/{oldest['id']}/read", headers=me.headers)
        assert r.json() == {"marked": 1}, r.text
    await open_page(page, "Overview", "Overview")
    await expect(page.get_by_role("link", name="Notifications, 3 unread")).to_be_visible()

    await bell.click()
    await expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    await expect(bell).to_have_attribute("aria-current", "page")
    inbox = page.get_by_role("list", name="Notifications, newest first")
    items = inbox.get_by_role("listitem")
    await expect(items).to_have_count(4)
    titles = [re.sub(r":.*", "", t) for t in await items.locator("h3").all_inner_texts()]
    assert sorted(titles) == ["Budget 100% reached", "Budget 50% reached", "Budget 80% reached",
                              "Budget 90% reached"]
    await expect(inbox.get_by_text("Unread", exact=True)).to_have_count(3)
    await expect(items.last.get_by_text("Read", exact=True)).to_be_visible()

    first = items.first
    await first.get_by_role("button", name="Mark as read").click()
    await expect(first.get_by_text("Read", exact=True)).to_be_visible()
    await expect(first.get_by_role("button", name="Mark as read")).to_have_count(0)
    await expect(page.get_by_role("link", name="Notifications, 2 unread")).to_be_visible()
    await expect(page.locator("#unread-count")).to_have_text("2")
    await page.reload()
    await expect(page.locator("#unread-count")).to_have_text("2")
    await expect(inbox.get_by_text("Unread", exact=True)).to_have_count(2)

    await page.get_by_label("Only unread").check()
    await expect(items).to_have_count(2)
    await page.get_by_role("button", name="Mark all as read").click()
    await expect(page.get_by_text("No notifications")).to_be_visible()
    await expect(page.get_by_role("link", name="Notifications, none unread")).to_be_visible()
    await expect(page.locator("#unread-count")).to_be_hidden()
    await page.get_by_label("Only unread").uncheck()
    await expect(inbox.get_by_text("Read", exact=True)).to_have_count(4)

    # muting budget alerts hides them from the inbox, and the choice is kept
    await page.get_by_label("Budget thresholds").check()
    await page.get_by_role("button", name="Save preferences").click()
    await expect(page.get_by_text("No notifications")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Budget thresholds")).to_be_checked()
    await expect(page.get_by_text("No notifications")).to_be_visible()

    # the budget page shows what the traffic spent against the cap
    await open_page(page, "Budgets", "Budgets & alerts")
    deadline = time.monotonic() + 12
    spent = re.compile(r"\$9\.00 of \$1\.00 \(900%\)")
    while not spent.search(await budget_row.inner_text()) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)  # usage reaches the database within seconds; the page reads it on load
        await page.reload()
        await expect(page.get_by_role("heading", name="Budgets & alerts", level=1)).to_be_visible()
    await expect(budget_row).to_contain_text(spent)


async def _status_is(http: httpx.AsyncClient, key: str, status: int) -> bool:
    return (await chat(http, key)).status_code == status


async def _unread(who: Control, n: int) -> bool:
    return (await who.get("/api/notifications/unread-count"))["unread"] == n


async def test_members_are_listed_added_and_their_roles_changed_by_admins_only(
        page: Any, browser: Any, platform: BonitoServer) -> None:
    admin = await register(page, org="Team Inc")
    await open_page(page, "Members", "Members")
    members = page.get_by_role("region", name="Members")
    me = members.get_by_role("row", name=re.compile(re.escape(admin)))
    await expect(me).to_contain_text("(you)")
    await expect(me.get_by_label(f"Role of {admin}")).to_have_value("admin")
    # the last admin cannot step down: the server says why
    await me.get_by_label(f"Role of {admin}").select_option("viewer")
    await me.get_by_role("button", name="Save role").click()
    await expect(me.locator(".form-error")).to_contain_text("at least one admin")
    await expect(me.get_by_label(f"Role of {admin}")).to_have_value("admin")

    colleague = unique_email()
    await page.get_by_label("Email").fill(colleague)
    await page.get_by_label("Role", exact=True).select_option("viewer")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Add member").click()
    them = members.get_by_role("row", name=re.compile(re.escape(colleague)))
    await expect(them.get_by_label(f"Role of {colleague}")).to_have_value("viewer")
    await them.get_by_label(f"Role of {colleague}").select_option("member")
    await them.get_by_role("button", name="Save role").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{colleague} is now a member")
    await page.reload()
    await expect(them.get_by_label(f"Role of {colleague}")).to_have_value("member")

    # the colleague (a member, not an admin) sees the list but cannot change it, nor read the audit log
    context = await browser.new_context(base_url=platform.url)
    context.set_default_timeout(10_000)
    try:
        other = await context.new_page()
        await other.goto("/login?next=%2Fmembers")
        await other.get_by_label("Email").fill(colleague)
        await other.get_by_label("Password").fill(PASSWORD)
        await other.get_by_role("button", name="Sign in").click()
        await expect(other.get_by_role("heading", name="Members", level=1)).to_be_visible()
        await expect(other.get_by_text("Only admins can add members")).to_be_visible()
        await expect(other.get_by_role("row", name=re.compile(re.escape(admin)))).to_be_visible()
        await expect(other.get_by_role("button", name="Add member")).to_be_disabled()
        await expect(other.get_by_label(f"Role of {admin}")).to_be_disabled()
        await expect(other.get_by_role("button", name=f"Remove {admin}")).to_be_disabled()
        await open_page(other, "Audit", "Audit log")
        await expect(other.get_by_role("alert").filter(has_text="admin")).to_contain_text("HTTP 403")
    finally:
        await context.close()

    await them.get_by_role("button", name=f"Remove {colleague}").click()
    await page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    await expect(them).to_have_count(0)
    await page.reload()
    await expect(me).to_be_visible()
    await expect(them).to_have_count(0)


async def test_audit_log_shows_this_sessions_events_and_exports_them(page: Any) -> None:
    email = await register(page, org="Audited")
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    await open_page(page, "Keys", "Gateway keys")
    await page.get_by_label("Key name").fill("audited-key")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("#new-key-value")).to_have_text(re.compile(r"^bn-"))

    await open_page(page, "Audit", "Audit log")
    events = page.get_by_role("table", name="Audit events, newest first")
    created = events.locator("tr[data-action='key.create']")
    await expect(created).to_have_count(1)
    await expect(created).to_contain_text(email)
    await expect(created).to_contain_text("audited-key")
    await expect(events.locator("tr[data-action='auth.login']")).to_contain_text(email)
    await expect(events.locator("tr[data-action='auth.register']")).to_have_count(1)
    # newest first: the key was made after signing in
    actions = await events.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions.index("key.create") < actions.index("auth.login") < actions.index("auth.register")

    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export CSV").click()
    text = (await (await download.value).path()).read_text()
    header, *rows = text.splitlines()
    assert header.startswith("id,created_at,action")
    assert any("key.create" in r and "audited-key" in r for r in rows), text
    assert any("auth.login" in r and email in r for r in rows), text


async def test_audit_log_filters_keep_to_the_url_the_list_and_the_exports(page: Any) -> None:
    email = await register(page, org="Filtered")
    await open_page(page, "Keys", "Gateway keys")
    await page.get_by_label("Key name").fill("short-lived")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("#new-key-value")).to_have_text(re.compile(r"^bn-"))
    await page.get_by_role("button", name="Revoke short-lived").click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    await expect(page.get_by_text("No active keys")).to_be_visible()

    await open_page(page, "Audit", "Audit log")
    events = page.get_by_role("table", name="Audit events, newest first")
    rows = events.locator("tbody tr")
    form = page.get_by_role("search", name="Filter audit events")
    from_input = form.get_by_label(re.compile(r"^From\b"))
    until_input = form.get_by_label(re.compile(r"^To\b"))  # not "Ac-to-r email"
    await expect(events.locator("tr[data-action='auth.register']")).to_have_count(1)
    await expect(events.locator("tr[data-action='key.revoke']")).to_have_count(1)

    # a family: only the key's events, and the URL says so
    await page.get_by_label("Action").fill("key.*")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page).to_have_url(re.compile(r"/audit\?action=key\.\*$"))
    await expect(rows).to_have_count(2)
    await expect(events.locator("tr[data-action='key.create']")).to_contain_text("short-lived")
    await expect(events.locator("tr[data-action='key.revoke']")).to_contain_text(email)
    await expect(events.locator("tr[data-action^='auth.']")).to_have_count(0)

    # a reload keeps the filter: in the form and in what is listed
    await page.reload()
    await expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    await expect(page.get_by_label("Action")).to_have_value("key.*")
    await expect(rows).to_have_count(2)
    await expect(events.locator("tr[data-action^='auth.']")).to_have_count(0)

    # both exports carry the filter
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO((await (await download.value).path()).read_text())))
    assert sorted(r["action"] for r in exported) == ["key.create", "key.revoke"], exported
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export JSON lines").click()
    lines = (await (await download.value).path()).read_text().splitlines()
    assert sorted(json.loads(line)["action"] for line in lines) == ["key.create", "key.revoke"], lines

    # an actor who did nothing here: the empty state; the actor's own email, any case: their events
    await page.get_by_label("Actor email").fill("nobody-here@example.com")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page.get_by_text("No events match these filters.")).to_be_visible()
    await expect(events).to_have_count(0)
    await page.get_by_label("Action").fill("")
    await page.get_by_label("Actor email").fill(email.upper())
    await page.get_by_role("button", name="Apply filters").click()
    await expect(events.locator("tr[data-action='auth.register']")).to_have_count(1)
    await expect(events.locator("tr[data-action='key.create']")).to_have_count(1)
    # back returns to the previous filter
    await page.go_back()
    await expect(page.get_by_text("No events match these filters.")).to_be_visible()
    await expect(page.get_by_label("Actor email")).to_have_value("nobody-here@example.com")

    # a time range, sent in UTC and shown back in local time
    await page.get_by_role("link", name="Clear").click()
    await expect(page).to_have_url(re.compile(r"/audit$"))
    await expect(page.get_by_label("Action")).to_have_value("")
    await expect(events.locator("tr[data-action='auth.register']")).to_have_count(1)
    await from_input.fill("2000-01-01T00:00")
    await until_input.fill("2100-01-01T00:00")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page).to_have_url(re.compile(r"start=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A00\.000Z"))
    await expect(from_input).to_have_value("2000-01-01T00:00")
    await expect(events.locator("tr[data-action='auth.register']")).to_have_count(1)
    await from_input.fill("2099-01-01T00:00")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page.get_by_text("No events match these filters.")).to_be_visible()

    # the server's refusals show on the form, naming the field
    await until_input.fill("2098-01-01T00:00")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(form.get_by_role("alert")).to_contain_text(re.compile(r"end: must be after start.*HTTP 422"))
    await expect(until_input).to_have_attribute("aria-invalid", "true")
    await expect(events).to_have_count(0)
    await page.get_by_role("link", name="Clear").click()
    await expect(form.get_by_role("alert")).to_be_hidden()
    await page.get_by_label("Action").fill("Key Create")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(form.get_by_role("alert")).to_contain_text(re.compile(r"^action: .*HTTP 422"))
    await expect(page.get_by_label("Action")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Action")).to_have_value("Key Create")
    await expect(events).to_have_count(0)


async def test_audit_log_pages_older_and_newer_keeping_the_filter(page: Any, platform: BonitoServer) -> None:
    email = await register(page, org="Paged")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        me = await Control.login(http, email)
        for i in range(55):  # 55 key.create events: a page of 50 and one of 5
            await me.post("/api/gateway/keys", {"name": f"k{i:02d}"})
    await page.goto("/audit?action=key.create")
    await expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    rows = page.get_by_role("table", name="Audit events, newest first").locator("tbody tr")
    pages = page.get_by_role("navigation", name="Pages")
    await expect(rows).to_have_count(50)
    await expect(pages).to_contain_text("50 shown")
    await expect(pages.get_by_role("button", name="← Newer")).to_have_count(0)

    await pages.get_by_role("button", name="Older →").click()
    await expect(rows).to_have_count(5)
    await expect(page).to_have_url(re.compile(r"/audit\?action=key\.create&cursor=[^&]+&back=-$"))
    await expect(pages.get_by_role("button", name="Older →")).to_have_count(0)
    await expect(rows.first).to_contain_text("key.create")

    await pages.get_by_role("button", name="← Newer").click()
    await expect(rows).to_have_count(50)
    await expect(page).to_have_url(re.compile(r"/audit\?action=key\.create$"))
