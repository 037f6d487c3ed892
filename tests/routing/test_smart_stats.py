"""GET /api/routing-policies/{id}/stats on a full-mode server: split, failovers, cost and savings from usage."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bonito.routing.complexity import complexity
from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.routing.smart_support import dev_prompts
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

DEAR_IN, DEAR_OUT = Decimal(5), Decimal(15)  # $/Mtok of the policy's most expensive target


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    f = FakeOpenAI().start()
    yield f
    f.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    workdir: Path = tmp_path_factory.mktemp("smart-stats")
    with BonitoServer(workdir) as srv:
        yield srv


def test_savings_equal_a_hand_computation_on_recorded_usage(api: Api, server: BonitoServer,
                                                             fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)  # gpt-4o-mini at 0.15 / 0.60 $/Mtok
    r = api.post("/api/models", org.admin, {"name": "dear", "provider_id": org.provider["id"], "model": "gpt-4o",
                                            "input_cost_per_mtok": float(DEAR_IN),
                                            "output_cost_per_mtok": float(DEAR_OUT)})
    assert r.status_code == 201, r.text
    policy = api.post("/api/routing-policies", org.admin, {
        "name": "saver", "strategy": "failover", "retries": {"max_attempts": 1},
        "targets": [{"model": "gpt-4o-mini"}, {"model": "dear"}]}).json()
    eventually(lambda: chat(server.url, org.key["key"], "saver").status_code == 200, within_s=5.0)
    for _ in range(3):
        assert chat(server.url, org.key["key"], "saver").status_code == 200
    fake.fail_next(Fault(status=500))
    failed_over = chat(server.url, org.key["key"], "saver")
    assert failed_over.headers["x-bonito-model-used"] == "dear"
    rows = wait_rows(server.workdir, "org_id = ? AND route = ?", (org.admin.org_id, "saver"), count=5)

    paid = sum((Decimal(int(r["cost_usd"])) / 10**12 for r in rows), Decimal(0))  # stored in pico-USD
    dearest = sum(((Decimal(r["prompt_tokens"]) * DEAR_IN + Decimal(r["completion_tokens"]) * DEAR_OUT) / 10**6
                   for r in rows), Decimal(0))
    got = api.get(f"/api/routing-policies/{policy['id']}/stats", org.admin)
    assert got.status_code == 200, got.text
    s = got.json()
    assert s["requests"] == 5 and s["failovers"] == 1 and s["errors"] == 0
    assert s["distribution"]["gpt-4o-mini"]["requests"] == 4 and s["distribution"]["dear"]["requests"] == 1
    assert Decimal(s["cost_usd"]) == paid
    assert Decimal(s["baseline_cost_usd"]) == dearest
    assert Decimal(s["savings_usd"]) == dearest - paid > 0


def test_stats_are_the_org_s_own_and_a_bad_window_names_the_field(api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    policy = api.post("/api/routing-policies", org.admin, {"name": "mine", "targets": [{"model": "gpt-4o-mini"}]})
    pid = policy.json()["id"]
    empty = api.get(f"/api/routing-policies/{pid}/stats", org.admin).json()
    assert empty["requests"] == 0 and empty["savings_usd"] == "0"
    other = api.org_with_key(fake.url)
    assert api.get(f"/api/routing-policies/{pid}/stats", other.admin).status_code == 404
    bad = api.get(f"/api/routing-policies/{pid}/stats", org.admin, params={"start": "yesterday"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "start"]


def test_the_policy_test_names_the_score_threshold_and_first_target(api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    api.post("/api/models", org.admin, {"name": "dear", "provider_id": org.provider["id"], "model": "gpt-4o",
                                        "input_cost_per_mtok": 5, "output_cost_per_mtok": 15})
    policy = api.post("/api/routing-policies", org.admin, {
        "name": "brainy", "strategy": "smart", "targets": [{"model": "dear"}, {"model": "gpt-4o-mini"}]}).json()
    for prompt in dev_prompts(6, seed=21):
        r = api.post(f"/api/routing-policies/{policy['id']}/test", org.admin,
                     {"messages": [{"role": "user", "content": prompt}]})
        assert r.status_code == 200, r.text
        plan = r.json()
        score = complexity(prompt)
        assert plan["explain"]["scores"]["score"] == round(score, 4)
        assert plan["explain"]["scores"]["threshold"] == 0.5
        assert plan["first_target"] == ("dear" if score >= 0.5 else "gpt-4o-mini")
