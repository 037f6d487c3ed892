"""A real Chromium (Debian's, driven by Playwright) against a real full-mode Bonito server.

CI installs the browser with `scripts/install-browser.sh`; without it the tests fail, saying why
(a missing browser must not pass as a skipped suite).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

CHROMIUM = os.environ.get("BONITO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery"
_emails = itertools.count(1)


def _require_browser() -> None:
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"browser tests need Chromium at {CHROMIUM}: run scripts/install-browser.sh")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    # the async API: Playwright's sync API would hold an event loop open and break async tests elsewhere
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture(scope="module")
def platform(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    """The whole platform in full mode (no --config): SQLite store, control plane, gateway, dashboard."""
    _require_browser()
    workdir: Path = tmp_path_factory.mktemp("bonito-web")
    with BonitoServer(workdir) as srv:
        yield srv


class PageProblems:
    """Uncaught errors and CSP violations seen by a page: either is a bug a user would hit."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def console(self, msg: Any) -> None:
        if "Content Security Policy" in msg.text or (msg.type == "error" and "Refused to" in msg.text):
            self.errors.append(f"console: {msg.text}")

    def page_error(self, exc: Any) -> None:
        self.errors.append(f"uncaught: {exc}")


@pytest.fixture
async def page(browser: Any, platform: BonitoServer) -> AsyncIterator[Any]:
    """A fresh browser context (empty sessionStorage) on the platform's dashboard."""
    context = await browser.new_context(base_url=platform.url, viewport={"width": 1280, "height": 900},
                                        accept_downloads=True)
    context.set_default_timeout(10_000)
    pg = await context.new_page()
    problems = PageProblems()
    pg.on("console", problems.console)
    pg.on("pageerror", problems.page_error)
    yield pg
    await context.close()
    assert not problems.errors, "\n".join(problems.errors)


def unique_email() -> str:
    return f"user{next(_emails)}-{os.getpid()}@example.com"


async def register(page: Any, email: str | None = None, org: str = "Acme") -> str:
    """Create an account through the UI; returns the email. Ends on the overview."""
    from playwright.async_api import expect

    email = email or unique_email()
    await page.goto("/register")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Organization name").fill(org)
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/overview$"))
    return email
