"""Full mode (no --config), through the real server and the official openai SDK: an org lists its tag keys
through /api/gateway/config, keys carry default tags, models take cached and cache-write prices, a budget
scoped to a tag value refuses only the requests carrying it, and /api/costs answers per org."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest

from tests.control.helpers import Api, Org, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

HI = [{"role": "user", "content": "hi"}]  # 8 prompt tokens at the fake upstream


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("costs-full")) as srv:
        yield srv


@pytest.fixture(scope="module")
def org_a(api: Api, upstream: FakeOpenAI) -> Org:
    org = api.org_with_key(upstream.url, key_body={"name": "data", "tags": {"team": "data"}})
    r = api.http.put("/api/gateway/config", json={"tags": ["team", "project"]}, headers=org.admin.headers)
    assert r.status_code == 200 and r.json()["tags"] == ["team", "project"], r.text
    pricey = api.post("/api/models", org.admin, {
        "name": "pricey", "provider_id": org.provider["id"], "model": "upstream-pricey",
        "input_cost_per_mtok": 250000, "output_cost_per_mtok": 0, "cached_input_cost_per_mtok": 25000,
        "cache_write_cost_per_mtok": 300000})
    assert pricey.status_code == 201, pricey.text
    org.extra["pricey"] = pricey.json()
    budget = api.post("/api/budgets", org.admin, {"usd": 3, "period": "monthly", "tag": {"project": "atlas"}})
    assert budget.status_code == 201, budget.text
    org.extra["budget"] = budget.json()
    time.sleep(2.5)  # an API change serves traffic within 2 s
    return org


@pytest.fixture(scope="module")
def org_b(api: Api, upstream: FakeOpenAI) -> Org:
    return api.org_with_key(upstream.url, key_body={"name": "b"})


def test_models_and_keys_show_their_cost_settings(api: Api, org_a: Org) -> None:
    assert org_a.extra["pricey"]["cached_input_cost_per_mtok"] == 25000
    assert org_a.extra["pricey"]["cache_write_cost_per_mtok"] == 300000
    assert org_a.key["tags"] == {"team": "data"}
    assert org_a.extra["budget"]["tag"] == {"project": "atlas"}
    bad = api.post("/api/budgets", org_a.admin, {"usd": 3, "period": "monthly", "tag": {}})
    assert bad.status_code == 422 and "tag" in bad.text
    bad = api.post("/api/gateway/keys", org_a.admin, {"name": "x", "tags": {"team": 5}})
    assert bad.status_code == 422 and "tags" in bad.text


def test_a_tag_budget_refuses_only_its_tag_value_and_only_in_its_org(
        server: BonitoServer, api: Api, org_a: Org, org_b: Org, fake: FakeOpenAI) -> None:
    client = server.openai(org_a.key["key"])
    for _ in range(2):  # $2 each: $2 < $3 served, then $4
        client.chat.completions.create(model="pricey", messages=HI, metadata={"project": "atlas"})
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="pricey", messages=HI, metadata={"project": "atlas"})
    assert err.value.code == "budget_exceeded"
    client.chat.completions.create(model="pricey", messages=HI, metadata={"project": "zeus"})
    # org B lists no tag keys: its metadata is not kept, and org A's tag budget is not its business
    b = server.openai(org_b.key["key"])
    b.chat.completions.create(model="gpt-4o-mini", messages=HI, metadata={"project": "atlas", "team": "data"},
                              extra_headers={"x-request-id": "org-b-tagged"})

    def b_logged() -> bool:
        items = api.get("/api/gateway/logs", org_b.admin).json()["items"]
        return any(i["request_id"] == "org-b-tagged" for i in items)

    eventually(b_logged, within_s=10)
    items = api.get("/api/gateway/logs", org_b.admin).json()["items"]
    assert next(i for i in items if i["request_id"] == "org-b-tagged")["tags"] == {}

    def a_by_project() -> dict[str | None, dict[str, Any]]:
        r = api.get("/api/gateway/usage", org_a.admin, params={"group_by": "tag:project"})
        assert r.status_code == 200, r.text
        return {row["value"]: row for row in r.json()["by_tag"]}

    eventually(lambda: a_by_project().get("zeus", {}).get("requests") == 1, within_s=10)
    atlas = a_by_project()["atlas"]  # the refused call is recorded too, with its tags, and cost nothing
    assert (atlas["requests"], atlas["errors"], Decimal(atlas["cost_usd_exact"])) == (3, 1, Decimal(4))
    budgets = api.get("/api/budgets", org_a.admin).json()
    assert Decimal(next(b for b in budgets if b["tag"])["spent_usd"]) == Decimal(4)

    def tag_budget_alerted() -> bool:  # the 100% threshold crossed, naming the tag value
        items = api.get("/api/notifications", org_a.admin).json()["items"]
        return any("project=atlas" in n["title"] and "100%" in n["title"] for n in items)

    eventually(tag_budget_alerted, within_s=15)


def test_costs_forecast_and_recommendations_are_per_org(api: Api, org_a: Org, org_b: Org) -> None:
    def mtd(org: Org) -> float:
        r = api.get("/api/costs/forecast", org.admin)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["low_usd"] <= body["projected_usd"] <= body["high_usd"]
        assert body["projected_usd"] >= body["month_to_date_usd"]
        return float(body["month_to_date_usd"])

    eventually(lambda: mtd(org_a) >= 6, within_s=10)  # three $2 calls served
    assert mtd(org_b) < 0.01
    r = api.get("/api/costs/forecast", org_a.admin, params={"group_by": "tag:project"})
    by = {row["value"]: row for row in r.json()["by_tag"]}
    assert by["atlas"]["month_to_date_usd"] == pytest.approx(4, abs=1e-4)
    assert api.get("/api/costs/forecast", org_a.admin, params={"group_by": "team"}).status_code == 422
    recs = api.get("/api/costs/recommendations", org_a.admin)
    assert recs.status_code == 200 and isinstance(recs.json(), list)
    for rec in recs.json():
        assert set(rec) >= {"kind", "title", "evidence", "monthly_saving_usd"}
    assert api.http.get("/api/costs/forecast").status_code == 401
