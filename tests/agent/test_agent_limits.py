"""Limits and budgets on the agent come from the pulled config; spend recorded elsewhere (another
agent here) reaches it with the next pull, so a budget is overrun by at most one sync interval of
others' traffic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.agent.conftest import AGENT_UPSTREAM_KEY, ingest, issue_token, local_config
from tests.agent.support import AgentProcess
from tests.control.helpers import Account, Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

SYNC_S = 1.0


def test_spend_elsewhere_and_limits_set_through_the_api_reach_the_agent(
        api: Api, control: BonitoServer, fake: FakeOpenAI, tmp_path: Path) -> None:
    org = api.org_with_key(fake.url, key_body={"name": "limited", "requests_per_minute": 1000})
    other = api.org_with_key(fake.url)  # its own agent, its own budget: untouched by this one
    token = issue_token(api, org.admin)
    assert api.post("/api/budgets", org.admin, {"usd": 1, "period": "monthly"}).status_code == 201
    agent = AgentProcess(tmp_path, control.url, token=token, config=local_config(fake.url), sync_interval=SYNC_S,
                         env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY})
    try:
        agent.start()
        assert chat(agent.url, org.key["key"]).status_code == 200

        # another agent of the org spends the whole budget; this one learns it with the next pull
        record = {"id": uuid.uuid4().hex, "request_id": "elsewhere", "model_used": "gpt-4o-mini",
                  "key_id": org.key["id"], "cost_usd": "1.00", "status": 200,
                  "created_at": datetime.now(UTC).isoformat()}
        assert ingest(control.url, issue_token(api, org.admin), [record]).status_code == 200

        def refused() -> bool:
            r = chat(agent.url, org.key["key"])
            return r.status_code == 429 and r.json()["error"]["code"] == "budget_exceeded"
        eventually(refused, within_s=SYNC_S + 5, step_s=0.2)

        # a request limit set through /api: the key's own limit applies on the agent
        key = api.post("/api/gateway/keys", org.admin, {"name": "two-a-minute", "requests_per_minute": 2}).json()
        assert api.delete(f"/api/budgets/{api.get('/api/budgets', org.admin).json()[0]['id']}",
                          org.admin).status_code == 204
        eventually(lambda: chat(agent.url, key["key"]).status_code == 200, within_s=SYNC_S + 5, step_s=0.2)
        statuses = [chat(agent.url, key["key"]).status_code for _ in range(3)]
        assert statuses.count(429) >= 2 and statuses[-1] == 429
        assert chat(agent.url, other.key["key"]).status_code == 401  # another org's key is not this agent's
    finally:
        agent.stop()


def test_a_budget_crossed_on_the_agent_alerts_the_org_once(
        api: Api, control: BonitoServer, fake: FakeOpenAI, tmp_path: Path) -> None:
    org = api.org_with_key(fake.url)
    other = api.register()
    assert api.post("/api/budgets", org.admin, {"usd": "0.00001", "period": "daily", "hard": False}).status_code == 201
    rule = {"name": "half", "kind": "budget", "threshold": 50, "channels": ["in_app"]}
    assert api.post("/api/alert-rules", org.admin, rule).status_code == 201
    with AgentProcess(tmp_path, control.url, token=issue_token(api, org.admin), config=local_config(fake.url),
                      heartbeat_interval=30, env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY}) as agent:
        for _ in range(4):  # each call costs a few micro-dollars: the 50 % mark passes on the agent
            assert chat(agent.url, org.key["key"]).status_code == 200

        def budget_notes(who: Account) -> list[dict[str, Any]]:
            return [n for n in api.get("/api/notifications", who).json()["items"] if n["kind"] == "budget"]
        # sent at once, not at the next 30 s heartbeat
        eventually(lambda: len(budget_notes(org.admin)) >= 1, within_s=10, step_s=0.3)
        assert [n["data"]["threshold_percent"] for n in budget_notes(org.admin)].count(50) == 1
        assert budget_notes(other) == []
