"""The agent follows its token file (a rotated secret needs no restart), and an agent started before
its control plane answers becomes ready once it does."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.agent.conftest import AGENT_UPSTREAM_KEY, issue_token, local_config
from tests.agent.support import AgentProcess
from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.ports import free_port
from tests.support.server import BonitoServer


def _write_secret(path: Path, token: str) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(token + "\n")
    os.replace(tmp, path)  # as a mounted Kubernetes secret changes


def test_a_rotated_token_file_is_used_without_a_restart(api: Api, control: BonitoServer, fake: FakeOpenAI,
                                                        tmp_path: Path) -> None:
    org = api.org_with_key(fake.url)
    secret = tmp_path / "token"
    _write_secret(secret, issue_token(api, org.admin))
    with AgentProcess(tmp_path / "agent", control.url, token_file=secret, config=local_config(fake.url),
                      env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY}) as agent:
        assert chat(agent.url, org.key["key"]).status_code == 200
        _write_secret(secret, issue_token(api, org.admin, overlap_s=0))  # the old token is dead at once
        later = api.post("/api/gateway/keys", org.admin, {"name": "after-rotation"}).json()
        # served only if the agent pulls with the new token: within the sync interval + 5 s
        eventually(lambda: chat(agent.url, later["key"]).status_code == 200, within_s=6.0, step_s=0.2)
        assert "401" not in agent.logs().split("changed; using the new token")[-1]


def test_an_agent_started_before_its_control_plane_and_token_serves_once_both_exist(
        fake: FakeOpenAI, tmp_path: Path) -> None:
    port = free_port()
    secret = tmp_path / "token"  # not there yet
    agent = AgentProcess(tmp_path / "agent", f"http://127.0.0.1:{port}", token_file=secret,
                         config=local_config(fake.url), env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY})
    control = BonitoServer(tmp_path / "control", port=port)
    api = None
    try:
        agent.start(wait=False)
        eventually(lambda: _status(agent.url + "/health") == 200, within_s=20, step_s=0.2)
        assert _status(agent.url + "/health/ready") == 503  # nothing to serve yet
        control.start()
        api = Api(control.url)
        org = api.org_with_key(fake.url)
        _write_secret(secret, issue_token(api, org.admin))
        eventually(lambda: _status(agent.url + "/health/ready") == 200, within_s=10, step_s=0.2)
        assert chat(agent.url, org.key["key"]).status_code == 200
    finally:
        agent.stop()
        control.stop()
        if api is not None:
            api.close()


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0
