"""Agent status from heartbeats with short bounds: connected → delayed → offline, one notification
to the org when it goes offline and one when it returns; another org sees none of it."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import AGENT_UPSTREAM_KEY, issue_token, local_config
from tests.agent.support import AgentProcess
from tests.control.helpers import Account, Api, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    env = {"BONITO_AGENT_DELAYED_S": "2", "BONITO_AGENT_OFFLINE_S": "5"}
    with BonitoServer(tmp_path_factory.mktemp("control-status"), env=env) as srv:
        yield srv


def _agents(api: Api, admin: Account) -> list[dict[str, Any]]:
    r = api.get(f"/api/orgs/{admin.org_id}/agent", admin)
    assert r.status_code == 200, r.text
    return list(r.json()["agents"])


def _agent_notes(api: Api, admin: Account) -> list[dict[str, Any]]:
    items = api.get("/api/notifications", admin).json()["items"]
    return [n for n in items if n["kind"] == "agent"]


def test_status_follows_heartbeats_and_admins_hear_once(api: Api, control: BonitoServer, fake: FakeOpenAI,
                                                        tmp_path: Path) -> None:
    org = api.org_with_key(fake.url)
    other = api.register()
    agent = AgentProcess(tmp_path, control.url, token=issue_token(api, org.admin), config=local_config(fake.url),
                         heartbeat_interval=0.5, env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY})
    try:
        agent.start()
        eventually(lambda: [a["status"] for a in _agents(api, org.admin)] == ["connected"], within_s=10)
        fields = {"id", "hostname", "version", "status", "last_heartbeat", "requests", "errors", "spool_depth",
                  "config_version"}
        assert fields <= set(_agents(api, org.admin)[0])
        assert _agents(api, other) == []

        agent.stop(signal.SIGKILL)  # silent from now on
        eventually(lambda: _agents(api, org.admin)[0]["status"] == "delayed", within_s=10, step_s=0.2)
        eventually(lambda: _agents(api, org.admin)[0]["status"] == "offline", within_s=15, step_s=0.2)
        eventually(lambda: len(_agent_notes(api, org.admin)) == 1, within_s=10, step_s=0.2)
        note = _agent_notes(api, org.admin)[0]
        assert "offline" in note["title"] and note["data"]["agent_id"] == _agents(api, org.admin)[0]["id"]
        assert _agent_notes(api, other) == []
        time.sleep(3)  # still offline: no second notification
        assert len(_agent_notes(api, org.admin)) == 1

        agent.start()  # the same agent (its id is kept in the state dir) is back
        eventually(lambda: [a["status"] for a in _agents(api, org.admin)] == ["connected"], within_s=10)
        eventually(lambda: len(_agent_notes(api, org.admin)) == 2, within_s=10, step_s=0.2)
        assert "connected again" in _agent_notes(api, org.admin)[0]["title"]  # newest first
    finally:
        agent.stop()
