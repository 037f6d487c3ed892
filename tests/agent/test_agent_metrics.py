"""`GET /metrics` on a real agent: the families `bonito serve` has, for the requests the agent
answered, plus the agent's own (usage waiting for the control plane, since when nothing has, the
config served, heartbeats); closed without BONITO_METRICS_TOKEN's Bearer token."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from tests.agent.conftest import AGENT_UPSTREAM_KEY, issue_token, local_config
from tests.agent.support import AgentProcess
from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.observability.traffic import Scrape, scrape
from tests.support.server import BonitoServer

METRICS_TOKEN = "metrics-secret-for-agent"


def test_agent_metrics_follow_traffic_and_an_outage(fake: FakeOpenAI, tmp_path: Path) -> None:
    control = BonitoServer(tmp_path / "control").start()
    api = Api(control.url)
    agent = None
    try:
        org = api.org_with_key(fake.url)
        agent = AgentProcess(tmp_path / "agent", control.url, token=issue_token(api, org.admin),
                             config=local_config(fake.url),
                             env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY, "BONITO_METRICS_TOKEN": METRICS_TOKEN})
        agent.start()

        closed = httpx.get(agent.url + "/metrics", timeout=10)
        assert closed.status_code == 401 and "bonito_" not in closed.text
        wrong = httpx.get(agent.url + "/metrics", headers={"authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401

        for _ in range(3):
            assert chat(agent.url, org.key["key"]).status_code == 200
        assert chat(agent.url, "bn-not-a-key").status_code == 401

        def scraped() -> Scrape:
            return scrape(agent.url, METRICS_TOKEN)

        eventually(lambda: scraped().value("bonito_agent_usage_delivered_records_total") == 3, within_s=30, step_s=0.5)
        m = scraped()
        assert m.value("bonito_requests_total", model="gpt-4o-mini", status="200") == 3
        assert m.value("bonito_requests_total", status="401") == 1
        assert m.value("bonito_request_duration_seconds_count", model="gpt-4o-mini") == 3
        assert m.value("bonito_tokens_total", model="gpt-4o-mini", type="input") > 0
        assert m.value("bonito_cost_usd_total", model="gpt-4o-mini") > 0
        assert "bonito_circuit_breaker_open" in m.text and "bonito_cache_hits_total" in m.text
        assert m.value("bonito_agent_spool_records") == 0 and m.value("bonito_usage_pending_records") == 0
        assert m.value("bonito_agent_spool_full") == 0
        assert 0 <= m.value("bonito_agent_last_push_age_seconds") < 30
        versions = [lab["version"] for lab, v in m.samples["bonito_agent_config_info"] if v == 1]
        assert len(versions) == 1 and versions[0]
        assert m.value("bonito_agent_config_age_seconds") >= 0
        assert m.value("bonito_store_up", store="control_plane") == 1
        eventually(lambda: 0 <= scraped().value("bonito_agent_last_heartbeat_age_seconds") < 5, within_s=15)
        assert org.key["key"] not in m.text and "Hi there" not in m.text  # no key, no prompt in a label

        control.stop()  # the control plane goes away: usage waits in the spool, heartbeats fail
        for _ in range(4):
            assert chat(agent.url, org.key["key"]).status_code == 200
        eventually(lambda: scraped().value("bonito_agent_spool_records") == 4, within_s=10, step_s=0.3)
        eventually(lambda: scraped().value("bonito_agent_spool_bytes") > 0, within_s=10, step_s=0.3)
        eventually(lambda: scraped().value("bonito_agent_heartbeat_failures_total") >= 1, within_s=15, step_s=0.5)
        eventually(lambda: scraped().value("bonito_store_up", store="control_plane") == 0, within_s=15, step_s=0.5)
        assert scraped().value("bonito_agent_last_push_age_seconds") >= 0

        control.start()  # back: the spool drains, the gauges say so
        eventually(lambda: scraped().value("bonito_agent_spool_records") == 0, within_s=60, step_s=0.5)
        m = scraped()
        assert m.value("bonito_agent_usage_delivered_records_total") == 7
        assert m.value("bonito_agent_last_push_age_seconds") < 30
    finally:
        if agent is not None:
            agent.stop()
        control.stop()
        api.close()


def test_agent_json_logs_carry_each_request_id(api: Api, control: BonitoServer, fake: FakeOpenAI,
                                               tmp_path: Path) -> None:
    org = api.org_with_key(fake.url)
    agent = AgentProcess(tmp_path, control.url, token=issue_token(api, org.admin), config=local_config(fake.url),
                         env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY}, args=["--log-format", "json"])
    with agent:
        assert chat(agent.url, org.key["key"], **{"x-request-id": "json-line-1"}).status_code == 200
        assert chat(agent.url, "bn-unknown", **{"x-request-id": "json-line-2"}).status_code == 401
    lines = [orjson.loads(line) for line in agent.logs().splitlines() if line.strip()]  # every line is JSON
    ids = {line.get("request_id") for line in lines if isinstance(line, dict)}
    assert {"json-line-1", "json-line-2"} <= ids
    assert org.key["key"] not in agent.logs() and "Hi there" not in agent.logs()
