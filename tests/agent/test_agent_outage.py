"""The control plane goes away under traffic: the agent keeps serving from its snapshot, its spool
grows on disk, survives SIGTERM, a restart (from the cached config, the control plane still down)
and kill -9, and drains when the control plane returns: every request recorded exactly once."""

from __future__ import annotations

import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.agent.conftest import AGENT_UPSTREAM_KEY, issue_token, local_config, logs
from tests.agent.support import AgentProcess
from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


def spooled(agent: AgentProcess) -> int:
    """Records on the agent's disk not yet taken by the control plane (segments go once delivered)."""
    return sum(p.read_bytes().count(b"\n") for p in (agent.state_dir / "spool").glob("usage-*.jsonl"))


def traffic(agent: AgentProcess, key: str, tag: str, n: int) -> list[str]:
    ids = [f"{tag}-{i}-{uuid.uuid4().hex[:8]}" for i in range(n)]
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda rid: chat(agent.url, key, **{"x-request-id": rid}).status_code, ids))
    assert statuses == [200] * n
    return ids


def test_outage_sigterm_restart_and_kill_lose_nothing_and_write_nothing_twice(
        fake: FakeOpenAI, tmp_path: Path) -> None:
    control = BonitoServer(tmp_path / "control").start()
    api = Api(control.url)
    agent = None
    try:
        org = api.org_with_key(fake.url)
        token = issue_token(api, org.admin)
        agent = AgentProcess(tmp_path / "agent", control.url, token=token, config=local_config(fake.url),
                             sync_interval=1.0, heartbeat_interval=1.0, env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY})
        agent.start()
        sent = traffic(agent, org.key["key"], "before", 20)
        eventually(lambda: len(logs(api, org.admin)) == 20, within_s=30, step_s=0.5)

        control.stop()  # the control plane is gone
        sent += traffic(agent, org.key["key"], "outage", 40)
        eventually(lambda: spooled(agent) == 40, within_s=10, step_s=0.2)  # durably on disk

        assert agent.stop(signal.SIGTERM) == 0  # graceful: nothing pending is lost
        assert spooled(agent) == 40
        agent.start(wait=False)
        assert agent.wait_ready(timeout_s=10) < 10  # from the cached config, control plane still down
        sent += traffic(agent, org.key["key"], "restarted", 30)
        eventually(lambda: spooled(agent) == 70, within_s=10, step_s=0.2)

        agent.stop(signal.SIGKILL)  # at most the last unsynced second is at risk; these were synced
        assert spooled(agent) == 70
        agent.start(wait=False)
        agent.wait_ready(timeout_s=10)
        sent += traffic(agent, org.key["key"], "after-kill", 10)

        control.start()  # back: everything lands within 60 s, once
        eventually(lambda: len(logs(api, org.admin)) >= 100, within_s=60, step_s=1.0)
        eventually(lambda: spooled(agent) == 0, within_s=15, step_s=0.5)
        items = logs(api, org.admin)
        assert sorted(i["request_id"] for i in items) == sorted(sent)  # exactly once each
        assert {i["source"] for i in items} == {"vpc_agent"}
        assert api.get("/api/gateway/usage", org.admin).json()["requests"] == 100
    finally:
        if agent is not None:
            agent.stop()
        control.stop()
        api.close()
