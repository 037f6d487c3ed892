"""Invitations in the dashboard: an admin invites by email on the members page (the link shown once,
the pending list, revoking), and the invitee joins on the public /invite page — as a new account with
a password of their own, or as an existing account proven by its password. Real server, real browser."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from playwright.async_api import expect

from tests.support.server import BonitoServer
from tests.web.conftest import PASSWORD, register, unique_email


async def open_members(page: Any) -> None:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Members", exact=True).click()
    await expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()


async def invite(page: Any, email: str, role: str) -> str:
    """Invite `email` as `role` on the members page; returns the accept link it shows once."""
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Role", exact=True).select_option(role)
    await page.get_by_role("button", name="Create invitation link").click()
    reveal = page.get_by_role("alert").filter(has_text=f"Invitation link for {email}")
    link = reveal.locator("code")
    await expect(link).to_have_text(re.compile(r"^http://[^/]+/invite\?token=bni_[\w-]+$"))
    return str(await link.text_content())


@asynccontextmanager
async def fresh_page(browser: Any, platform: BonitoServer) -> AsyncIterator[Any]:
    """A second browser context: nobody signed in, its own sessionStorage."""
    context = await browser.new_context(base_url=platform.url)
    context.set_default_timeout(10_000)
    errors: list[str] = []
    try:
        pg = await context.new_page()
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        yield pg
    finally:
        await context.close()
    assert not errors, errors


async def open_invite(page: Any, link: str) -> None:
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Join an organization on Bonito", level=1)).to_be_visible()


async def test_newcomer_joins_by_the_link_shown_once_and_is_listed_with_the_invited_role(
        page: Any, browser: Any, platform: BonitoServer) -> None:
    admin = await register(page, org="Invite Co")
    await open_members(page)
    newcomer = unique_email()
    link = await invite(page, newcomer, "viewer")
    assert link.startswith(platform.url + "/invite?token=")
    token = link.split("token=", 1)[1]
    pending = page.get_by_role("region", name="Pending invitations")
    row = pending.get_by_role("row", name=re.compile(re.escape(newcomer)))
    await expect(row).to_contain_text("viewer")
    # shown once: gone when dismissed, and nowhere after a reload, while the invitation stays listed
    await page.get_by_role("button", name="I have saved it").click()
    await expect(page.get_by_text(token)).to_have_count(0)
    await page.reload()
    await expect(row).to_contain_text("viewer")
    await expect(page.get_by_text(token)).to_have_count(0)

    async with fresh_page(browser, platform) as other:
        await open_invite(other, link)
        # the page says what the link opens, and asks for a new account's password
        await expect(other.get_by_text("You've been invited to join “Invite Co” on Bonito as viewer.")).to_be_visible()
        await expect(other.get_by_label("Email")).to_have_value(newcomer)
        await expect(other.get_by_text("Choose a password for your new account")).to_be_visible()
        await expect(other.locator("#topbar")).to_be_hidden()
        password = other.get_by_label("Password")
        await password.fill("short")
        await other.get_by_role("button", name="Join").click()
        error = other.get_by_role("alert").filter(has_text="HTTP 422")
        await expect(error).to_contain_text("password")
        await expect(error).to_contain_text("8 characters")
        await expect(password).to_have_attribute("aria-invalid", "true")
        await expect(other).to_have_url(re.compile(r"/invite\?token="))

        await password.fill(PASSWORD)
        await other.get_by_role("button", name="Join").click()
        await expect(other).to_have_url(re.compile(r"/overview$"))
        await expect(other.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        await expect(other.locator("#whoami")).to_have_text(newcomer)
        await other.reload()  # the session is kept like a login's
        await expect(other.locator("#whoami")).to_have_text(newcomer)
        await open_members(other)
        await expect(other.get_by_text("Invite Co · you are a viewer")).to_be_visible()
        await expect(other.get_by_role("button", name="Create invitation link")).to_be_disabled()

    await page.reload()
    members = page.get_by_role("region", name="Members")
    them = members.get_by_role("row", name=re.compile(re.escape(newcomer)))
    await expect(them.get_by_label(f"Role of {newcomer}")).to_have_value("viewer")
    await expect(members.get_by_role("row", name=re.compile(re.escape(admin)))).to_contain_text("(you)")
    await expect(pending).to_contain_text("No pending invitations.")
    await expect(row).to_have_count(0)


async def test_a_revoked_invitation_link_says_it_is_closed(
        page: Any, browser: Any, platform: BonitoServer) -> None:
    admin = await register(page, org="Revoking Co")
    await open_members(page)
    # a member already: the server refuses, and says so in the form
    await page.get_by_label("Email").fill(admin)
    await page.get_by_role("button", name="Create invitation link").click()
    await expect(page.locator("form .form-error")).to_contain_text("already a member")

    invitee = unique_email()
    link = await invite(page, invitee, "member")
    pending = page.get_by_role("region", name="Pending invitations")
    row = pending.get_by_role("row", name=re.compile(re.escape(invitee)))
    await row.get_by_role("button", name=f"Revoke the invitation for {invitee}").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text(f"Revoke the invitation for {invitee}?")
    await dialog.get_by_role("button", name="Revoke").click()
    await expect(row).to_have_count(0)
    await expect(pending).to_contain_text("No pending invitations.")

    async with fresh_page(browser, platform) as other:  # the revoked link says so, and offers no form
        await open_invite(other, link)
        await expect(other.locator("#invite-closed")).to_contain_text("This invitation is invalid, used or expired")
        await expect(other.get_by_role("button", name="Join")).to_have_count(0)
        await expect(other).to_have_url(re.compile(r"/invite\?token="))
        await expect(other.locator("#topbar")).to_be_hidden()

    await page.reload()
    await expect(page.get_by_role("region", name="Members").get_by_role(
        "row", name=re.compile(re.escape(invitee)))).to_have_count(0)


async def test_existing_account_joins_with_its_own_password_even_from_another_session(
        page: Any, browser: Any, platform: BonitoServer) -> None:
    existing = unique_email()
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        r = await http.post("/api/auth/register", json={"email": existing, "password": PASSWORD,
                                                         "org_name": "Elsewhere"})
        assert r.status_code == 201, r.text
    await register(page, org="Host Co")
    await open_members(page)
    link = await invite(page, existing, "member")

    async with fresh_page(browser, platform) as other:
        # someone else is signed in in this tab: the invitation is still offered, and replaces that session
        bystander = await register(other, org="Bystander Co")
        await expect(other.locator("#whoami")).to_have_text(bystander)
        old_refresh = await other.evaluate("sessionStorage.getItem('bonito.refresh_token')")
        await open_invite(other, link)
        await expect(other.get_by_text("You are signed in. Joining signs you in as the invited account"))\
            .to_be_visible()
        await expect(other.get_by_text("This email already has a Bonito account: enter its password.")).to_be_visible()
        password = other.get_by_label("Password")
        await password.fill("not the password")
        await other.get_by_role("button", name="Join").click()
        error = other.get_by_role("alert").filter(has_text="HTTP 401")
        await expect(error).to_contain_text("password does not match")
        await expect(password).to_have_attribute("aria-invalid", "true")

        await password.fill(PASSWORD)
        async with other.expect_response("**/api/auth/logout") as ended:
            await other.get_by_role("button", name="Join").click()
        assert (await ended.value).status == 204
        await expect(other).to_have_url(re.compile(r"/overview$"))
        await expect(other.locator("#whoami")).to_have_text(existing)
        await open_members(other)
        await expect(other.get_by_text("Host Co · you are a member")).to_be_visible()
        async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
            r = await http.post("/api/auth/refresh", json={"refresh_token": old_refresh})
        assert r.status_code == 401, "the replaced session must be ended"

    await page.reload()
    them = page.get_by_role("region", name="Members").get_by_role("row", name=re.compile(re.escape(existing)))
    await expect(them.get_by_label(f"Role of {existing}")).to_have_value("member")


async def test_invite_link_without_a_token_says_so(page: Any) -> None:
    await page.goto("/invite")
    await expect(page.get_by_role("heading", name="Join an organization on Bonito", level=1)).to_be_visible()
    await expect(page.get_by_text("This invitation link is incomplete: it has no token")).to_be_visible()
    await expect(page.get_by_label("Password")).to_have_count(0)
    await expect(page.get_by_role("button", name="Join")).to_have_count(0)
