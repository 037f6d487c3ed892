"""A large backlog (what a long control-plane outage leaves in the agent's spool) is delivered whole:
every record exactly once, also when the agent is stopped and restarted in the middle of the drain.
(How fast is measured in bench/agent_backlog.py, not here.)"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bonito.agent.reporter import encode
from bonito.usage.record import UsageRecord
from bonito.usage.spool import DiskSpool
from tests.agent.conftest import issue_token, logs
from tests.agent.support import AgentProcess
from tests.control.helpers import Api, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

BACKLOG = 20_000


def test_a_20k_record_backlog_is_delivered_exactly_once_across_a_restart(
        api: Api, control: BonitoServer, fake: FakeOpenAI, tmp_path: Path) -> None:
    org = api.org_with_key(fake.url)
    agent = AgentProcess(tmp_path, control.url, token=issue_token(api, org.admin))
    start = datetime.now(UTC) - timedelta(hours=1)
    spool = DiskSpool(agent.state_dir / "spool")
    for first in range(0, BACKLOG, 2_500):  # as the agent's gateway left them, an hour of traffic
        spool.append_lines([encode(UsageRecord(
            request_id=f"backlog-{i}", org_id=org.admin.org_id, key_id=org.key["id"], key_name="app",
            model_requested="gpt-4o-mini", model_used="gpt-4o-mini", prompt_tokens=10, completion_tokens=5,
            cost_usd=Decimal("0.000001"), latency_ms=300.0, source="vpc_agent",
            created_at=start + timedelta(seconds=3_000 * i / BACKLOG))) for i in range(first, first + 2_500)])
    spool.close()

    def stored() -> int:
        return int(api.get("/api/gateway/usage", org.admin).json()["requests"])

    with agent:
        eventually(lambda: stored() > 0, within_s=60, step_s=0.2)
        agent.stop(signal.SIGTERM)  # mid-drain (or just after): what was stored stays stored, once
        agent.start()
        eventually(lambda: stored() == BACKLOG, within_s=180, step_s=1.0)
        eventually(lambda: not list((agent.state_dir / "spool").glob("usage-*.jsonl")), within_s=30, step_s=0.5)
    items = logs(api, org.admin)
    assert len(items) == BACKLOG
    assert sorted(i["request_id"] for i in items) == sorted(f"backlog-{i}" for i in range(BACKLOG))
    assert {i["source"] for i in items} == {"vpc_agent"}
    assert stored() == BACKLOG
