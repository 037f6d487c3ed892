"""`bonito agent token` / `agent status` against the agent API, and `bonito agent` running the VPC agent.
Needs the agent API and bonito.agent.run (another branch): the lead runs these after the merge."""

from __future__ import annotations

import subprocess
import time

from tests.cli.support import BONITO, Cli
from tests.control.helpers import PASSWORD, Account, Api
from tests.support.ports import free_port
from tests.support.server import BonitoServer


def test_agent_token_is_printed_once_and_rotates(cli: Cli, server: BonitoServer, admin: Account) -> None:
    cli.ok("login", "--url", server.url, "--email", admin.email, "--password-stdin", input=PASSWORD + "\n")
    issued = cli.ok("agent", "token")
    first = issued.stdout.strip()
    assert first.startswith("bt-") and first not in issued.stderr
    doc = cli.json("agent", "token", "--overlap", "0")
    assert doc["token"].startswith("bt-") and doc["token"] != first and doc["id"]
    status = cli.json("agent", "status")
    assert status["agents"] == []
    assert "no agent" in cli.ok("agent", "status").stderr


def test_agent_runs_and_reports_in_status(cli: Cli, server: BonitoServer, admin: Account, api: Api) -> None:
    import httpx

    env = {"BONITO_URL": server.url, "BONITO_TOKEN": admin.access}
    token = cli.json("agent", "token", **env)["token"]
    port = free_port()
    proc = subprocess.Popen([BONITO, "agent", "--control-plane", server.url, "--port", str(port),
                             "--state-dir", str(cli.home / "agent"), "--heartbeat-interval", "1",
                             "--sync-interval", "1"],
                            env=cli.environ(BONITO_ORG_TOKEN=token), cwd=cli.home,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        agents: list[dict[str, object]] = []
        while time.monotonic() < deadline and not agents:
            agents = cli.json("agent", "status", **env)["agents"]
            time.sleep(0.5)
        assert agents and agents[0]["status"] == "connected"
    finally:
        proc.terminate()
        proc.wait(40)
