"""The agents page against a real control plane and a real `bonito agent`: an empty org shows how to
connect one; a `bt-` token is issued once with the command to start an agent; the agent started with
exactly that command appears with its health; revoking every token locks it out; a platform admin sees
every org's agents. (Needs the VPC agent endpoints of the contract's "VPC agent" section.)"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.ports import free_port
from tests.support.server import BonitoServer
from tests.web.conftest import register, unique_email
from tests.web.test_governance_pages import until

ADMIN = f"platform-admin-{os.getpid()}@example.com"
SCREENS = os.environ.get("BONITO_SCREENS_DIR", "/tmp/bonito-screens")  # screenshots for review


@pytest.fixture(scope="module")
def platform(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("bonito-agents"), env={"ADMIN_EMAILS": ADMIN}) as srv:
        yield srv


@pytest.fixture
def agent_dir(tmp_path: Path) -> Iterator[dict[str, Any]]:
    started: dict[str, Any] = {"dir": tmp_path}
    yield started
    proc = started.get("proc")
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    if "log" in started:
        started["log"].close()


def start_agent(command: str, agent_dir: dict[str, Any]) -> subprocess.Popen[bytes]:
    """The command the page shows, as a user pastes it (plus where to listen and keep state)."""
    args = shlex.split(command)
    assert args[:2] == ["bonito", "agent"]
    work: Path = agent_dir["dir"]
    agent_dir["log"] = (work / "agent.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "bonito", *args[1:], "--port", str(free_port()),
                             "--state-dir", str(work / "state"), "--heartbeat-interval", "1"],
                            cwd=work, stdout=agent_dir["log"], stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    agent_dir["proc"] = proc
    return proc


async def test_issue_token_start_agent_see_it_then_revoke(page: Any, platform: BonitoServer,
                                                          agent_dir: dict[str, Any]) -> None:
    await register(page, org="Agent Co")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Agents").click()
    await expect(page.get_by_role("heading", name="Agents", level=1)).to_be_visible()
    agents = page.get_by_role("region", name="Agents", exact=True)
    await expect(agents.get_by_text("No agent has connected yet")).to_be_visible()

    await page.get_by_role("button", name="Issue a token").click()
    command = page.locator("#agent-command")
    await expect(command).to_have_text(re.compile(
        rf"^bonito agent --control-plane {re.escape(platform.url)} --token bt-\S{{16,}}$"))
    text = (await command.inner_text()).strip()
    token = text.rsplit(" ", 1)[1]
    await expect(page.locator("#agent-token")).to_have_text(token)
    await page.screenshot(path=f"{SCREENS}/agents-token.png", full_page=True)

    start_agent(text, agent_dir)
    refresh = agents.get_by_role("button", name="Refresh")

    async def listed() -> bool:
        await refresh.click()
        return await agents.get_by_role("row").filter(has_text=socket.gethostname()).count() == 1

    await until(listed, "the agent appears after its first heartbeat", timeout_s=60)
    row = agents.get_by_role("row").filter(has_text=socket.gethostname())
    await expect(row.get_by_text("connected", exact=True)).to_be_visible()
    await page.screenshot(path=f"{SCREENS}/agents.png", full_page=True)

    # shown once: a reload shows the list, not the token
    await page.reload()
    await expect(page.get_by_role("heading", name="Agents", level=1)).to_be_visible()
    await expect(page.locator("#agent-token")).to_have_count(0)
    assert token not in await page.content()

    await page.get_by_role("button", name="Revoke all tokens").click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke all").click()
    await expect(page.get_by_text("Every agent token is revoked")).to_be_visible()
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        r = await http.get("/api/agent/config", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 401


async def test_platform_admin_sees_every_orgs_agents(
        page: Any, platform: BonitoServer, agent_dir: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        r = await http.post("/api/auth/register", json={"email": unique_email(), "password": "correct horse battery",
                                                         "org_name": "Fleet Co"})
        owner = {"authorization": f"Bearer {r.json()['access_token']}"}
        me = (await http.get("/api/auth/me", headers=owner)).json()
        r = await http.post(f"/api/orgs/{me['org_id']}/agent/token", headers=owner, json={})
        assert r.status_code == 201, r.text
        start_agent(f"bonito agent --control-plane {platform.url} --token {r.json()['token']}", agent_dir)

        async def heard() -> bool:
            r = await http.get(f"/api/orgs/{me['org_id']}/agent", headers=owner)
            return bool(r.json()["agents"])

        await until(heard, "the agent's first heartbeat", timeout_s=60)

    await register(page, email=ADMIN, org="Platform")
    await page.goto("/agents")
    fleet = page.get_by_role("region", name="Every organization's agents")
    row = fleet.get_by_role("row").filter(has_text=me["org_id"])
    await expect(row).to_contain_text(socket.gethostname())
    # the admin's own org has none
    await expect(page.get_by_role("region", name="Agents", exact=True).get_by_text("No agent has connected yet")
                 ).to_be_visible()
