"""The dashboard's overview shows the response cache's hit rate and what it saved (Chromium, full mode)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.control.helpers import PASSWORD, Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer
from tests.web.conftest import _require_browser, browser, page

__all__ = ["browser", "page"]


@pytest.fixture(scope="module")
def platform(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    _require_browser()
    workdir: Path = tmp_path_factory.mktemp("bonito-web-cache")
    with BonitoServer(workdir, env={"BONITO_CACHE": '{"exact": {"ttl_s": 600}}'}) as srv:
        yield srv


async def test_overview_shows_hit_rate_and_savings(page: Any, platform: BonitoServer, upstream: FakeOpenAI) -> None:
    api = Api(platform.url)
    admin = api.register()
    org = api.org_with_key(upstream.url, admin=admin)
    key = org.key["key"]
    # the new key reaches the gateway within a moment (no-store: this warm-up is not an entry)
    eventually(lambda: chat(platform.url, key, **{"cache-control": "no-store"}).status_code == 200, within_s=5)
    client = platform.openai(key)
    text = f"What is a prime number? {uuid.uuid4().hex}"
    headers = [client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]).headers["x-bonito-cache"]
        for _ in range(2)]
    assert headers == ["miss", "hit"]
    api.close()
    await page.goto("/login")
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/overview$"))
    stat = page.locator("[data-stat='Cache hit rate']")
    await expect(stat.locator("dd").first).to_have_text(re.compile(r"^[1-9]\d*(\.\d+)?%$"), timeout=15_000)
    await expect(stat.locator("dd").nth(1)).to_have_text(re.compile(r"^1 hit · saved \$0\.0\d+"))
