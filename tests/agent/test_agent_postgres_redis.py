"""A control plane on PostgreSQL and two replicas of an org's agent sharing one Redis: limits are
exact across the replicas, and both replicas' usage lands once each in PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.agent.conftest import AGENT_UPSTREAM_KEY, ingest, issue_token, local_config, logs
from tests.agent.support import AgentProcess
from tests.agent.test_agent_api_fuzz import fuzz_agent_endpoints
from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def pg_control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    pg = PostgresServer.start_new()  # fails (does not skip) without PostgreSQL
    try:
        env = {"BONITO_DATABASE_URL": pg.create_database("bonito_agents")}
        with BonitoServer(tmp_path_factory.mktemp("pg-control"), env=env) as srv:
            yield srv
    finally:
        pg.stop()


def test_two_replicas_share_limits_and_report_once_each(pg_control: BonitoServer, fake: FakeOpenAI,
                                                        tmp_path: Path) -> None:
    api = Api(pg_control.url)
    redis = RedisServer(tmp_path / "redis").start()
    agents: list[AgentProcess] = []
    try:
        org = api.org_with_key(fake.url, key_body={"name": "six-a-minute", "requests_per_minute": 6})
        token = issue_token(api, org.admin)
        config = local_config(fake.url) + f"redis_url: {redis.url}\n"
        agents = [AgentProcess(tmp_path / f"agent-{i}", pg_control.url, token=token, config=config,
                               env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY}).start() for i in range(2)]
        statuses = [chat(agents[i % 2].url, org.key["key"], **{"x-request-id": f"rr-{i}"}).status_code
                    for i in range(12)]
        assert statuses.count(200) == 6 and statuses.count(429) == 6  # one limit across both replicas

        eventually(lambda: len(logs(api, org.admin)) == 12, within_s=30, step_s=0.5)
        items = logs(api, org.admin)
        assert sorted(i["request_id"] for i in items) == sorted(f"rr-{i}" for i in range(12))
        assert {i["source"] for i in items} == {"vpc_agent"}
        eventually(lambda: len({a["id"] for a in api.get(f"/api/orgs/{org.admin.org_id}/agent",
                                                         org.admin).json()["agents"]}) == 2, within_s=10)

        # a batch sent again (a retry after a lost answer) writes nothing twice, on PostgreSQL too
        rec = {"id": uuid.uuid4().hex, "request_id": "retried", "status": 200, "cost_usd": "0.01",
               "created_at": datetime.now(UTC).isoformat()}
        for _ in range(2):
            assert ingest(pg_control.url, token, [rec]).status_code == 200
        assert [i["request_id"] for i in logs(api, org.admin)].count("retried") == 1
    finally:
        for a in agents:
            a.stop()
        redis.stop()
        api.close()


def test_no_input_makes_the_agent_endpoints_answer_5xx_on_postgres(pg_control: BonitoServer) -> None:
    api = Api(pg_control.url)
    try:
        fuzz_agent_endpoints(api, pg_control)
    finally:
        api.close()
