"""Signing up, in and out of the dashboard, and what happens when a session ends."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Route, expect

from tests.support.server import BonitoServer
from tests.web.conftest import PASSWORD, register, unique_email


async def test_register_lands_on_overview_signed_in(page: Any) -> None:
    email = await register(page)
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    await expect(page.locator("#whoami")).to_have_text(email)
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    # a brand-new org has no traffic yet
    await expect(page.locator("[data-stat=Requests] dd").first).to_have_text("0")


async def test_unauthenticated_visit_goes_to_login_and_back_after(page: Any) -> None:
    email = await register(page)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.goto("/keys")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fkeys$"))
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/keys$"))
    await expect(page.get_by_role("heading", name="Gateway keys")).to_be_visible()


async def test_wrong_password_shows_the_servers_message(page: Any) -> None:
    email = await register(page)
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    alert = page.locator("form .form-error")
    await expect(alert).to_be_visible()
    await expect(alert).to_contain_text("HTTP 401")
    await expect(page).to_have_url(re.compile(r"/login$"))


async def test_invalid_registration_names_the_field(page: Any) -> None:
    await page.goto("/register")
    await page.get_by_label("Email").fill(unique_email())
    await page.get_by_label("Password").fill("short")
    await page.get_by_label("Organization name").fill("Acme")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("form .form-error")).to_contain_text("password")
    await expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")


async def test_reload_keeps_the_session_but_no_access_token_is_stored(page: Any) -> None:
    await register(page)
    await page.reload()
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    stored = await page.evaluate("Object.keys(sessionStorage)")
    assert stored == ["bonito.refresh_token"], "only the refresh token is kept, and only for this tab"
    assert await page.evaluate("localStorage.length") == 0
    assert await page.context.cookies() == []


async def test_expired_access_token_is_refreshed_once_without_the_user_noticing(page: Any) -> None:
    await register(page)
    refreshes: list[str] = []
    page.on("request", lambda r: refreshes.append(r.url) if r.url.endswith("/api/auth/refresh") else None)
    answered = {"n": 0}

    async def expire_once(route: Route) -> None:
        answered["n"] += 1
        if answered["n"] == 1:
            await route.fulfill(status=401, json={"detail": "token expired"})
        else:
            await route.continue_()

    await page.route("**/api/gateway/keys", expire_once)
    await page.get_by_role("link", name="Keys").click()
    await expect(page.get_by_role("heading", name="Gateway keys")).to_be_visible()
    await expect(page.get_by_text("No active keys")).to_be_visible()
    assert len(refreshes) == 1
    assert answered["n"] == 2


async def test_a_session_that_cannot_be_refreshed_returns_to_login(page: Any) -> None:
    await register(page)
    await page.evaluate("sessionStorage.setItem('bonito.refresh_token', 'revoked-or-forged')")
    await page.route("**/api/providers", lambda route: route.fulfill(status=401, json={"detail": "expired"}))
    await page.get_by_role("link", name="Providers").click()
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fproviders$"))
    assert await page.evaluate("sessionStorage.getItem('bonito.refresh_token')") is None


async def test_sign_out_revokes_the_refresh_token(page: Any, platform: BonitoServer) -> None:
    await register(page)
    token = await page.evaluate("sessionStorage.getItem('bonito.refresh_token')")
    # the login form shows at once; the revocation goes out alongside it (keepalive)
    async with page.expect_response(re.compile(r"/api/auth/logout$")) as logout:
        await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    assert (await logout.value).status == 204
    async with httpx.AsyncClient() as client:
        resp = await client.post(platform.url + "/api/auth/refresh", json={"refresh_token": token})
    assert resp.status_code == 401
