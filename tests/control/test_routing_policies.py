"""Routing policies through the API: stored, compiled into the gateway, dry-run planned."""

from __future__ import annotations

import httpx
import pytest

from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.server import BonitoServer


def test_a_policy_serves_by_name_and_by_its_rt_key(api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    api.post("/api/models", org.admin, {"name": "backup", "provider_id": org.provider["id"], "model": "gpt-4o"})
    r = api.post("/api/routing-policies", org.admin, {
        "name": "prod-chat", "strategy": "failover", "targets": [{"model": "gpt-4o-mini"}, {"model": "backup"}],
        "retries": {"max_attempts": 2}, "timeout_s": 20, "generate_key": True})
    assert r.status_code == 201, r.text
    policy = r.json()
    assert policy["id"] and policy["key"].startswith("rt-")
    assert policy["key"] not in api.get("/api/routing-policies", org.admin).text
    assert [p["id"] for p in api.get("/api/routing-policies", org.admin).json()] == [policy["id"]]
    eventually(lambda: chat(full_server.url, org.key["key"], "prod-chat").status_code == 200, within_s=2.0)
    resp = chat(full_server.url, org.key["key"], "prod-chat")
    assert resp.headers["x-bonito-model-used"] == "gpt-4o-mini"
    rt = chat(full_server.url, policy["key"], "anything")
    assert rt.status_code == 200 and rt.headers["x-bonito-model-used"] == "gpt-4o-mini"


def test_dry_run_answers_the_plan_without_calling_upstream(api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    api.post("/api/models", org.admin, {"name": "backup", "provider_id": org.provider["id"], "model": "gpt-4o"})
    policy = api.post("/api/routing-policies", org.admin, {
        "name": "ab", "strategy": "ab_test",
        "targets": [{"model": "gpt-4o-mini", "weight": 80}, {"model": "backup", "weight": 20}]}).json()
    before = len(fake.requests)
    r = api.post(f"/api/routing-policies/{policy['id']}/test", org.admin)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["dry_run"] is True and plan["strategy"] == "ab_test"
    assert {t["model"] for t in plan["targets"]} == {"gpt-4o-mini", "backup"}
    assert len(fake.requests) == before


def test_invalid_policies_get_422_naming_the_field(api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    r = api.post("/api/routing-policies", org.admin, {"name": "x", "targets": [{"model": "nope"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "targets", 0, "model"]
    r = api.post("/api/routing-policies", org.admin, {
        "name": "x", "strategy": "ab_test", "targets": [{"model": "gpt-4o-mini", "weight": 50}]})
    assert r.status_code == 422 and "targets" in r.json()["detail"][0]["loc"]
    r = api.post("/api/routing-policies", org.admin, {"name": "x", "strategy": "magic",
                                                       "targets": [{"model": "gpt-4o-mini"}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "strategy"
    r = api.post("/api/routing-policies", org.admin, {"name": "gpt-4o-mini", "targets": [{"model": "gpt-4o-mini"}]})
    assert r.status_code == 409


def test_deleting_a_policy_stops_its_key(api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    policy = api.post("/api/routing-policies", org.admin, {
        "name": "temp", "targets": [{"model": "gpt-4o-mini"}], "key": "rt-my-own-route-key-123"}).json()
    assert policy["key"] == "rt-my-own-route-key-123"
    eventually(lambda: chat(full_server.url, "rt-my-own-route-key-123").status_code == 200, within_s=2.0)
    assert api.delete(f"/api/routing-policies/{policy['id']}", org.admin).status_code == 204
    eventually(lambda: chat(full_server.url, "rt-my-own-route-key-123").status_code == 401, within_s=2.0)
    assert httpx.get(f"{full_server.url}/v1/models",
                     headers={"authorization": f"Bearer {org.key['key']}"}).json()["data"][0]["id"] == "gpt-4o-mini"


def test_the_breaker_error_rate_is_stored_returned_and_dry_run_planned(api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    r = api.post("/api/routing-policies", org.admin, {
        "name": "rated", "targets": [{"model": "gpt-4o-mini"}],
        "circuit_breaker": {"error_rate": 0.5, "window_s": 30, "min_requests": 10}})
    assert r.status_code == 201, r.text
    rated = {"failure_threshold": 5, "cooldown_s": 30.0, "error_rate": 0.5, "window_s": 30.0, "min_requests": 10}
    assert r.json()["circuit_breaker"] == rated
    plain = api.post("/api/routing-policies", org.admin, {"name": "plain", "targets": [{"model": "gpt-4o-mini"}]})
    assert plain.status_code == 201, plain.text
    defaults = {"failure_threshold": 5, "cooldown_s": 30.0, "error_rate": None, "window_s": 60.0, "min_requests": 20}
    assert plain.json()["circuit_breaker"] == defaults
    listed = {p["name"]: p["circuit_breaker"] for p in api.get("/api/routing-policies", org.admin).json()}
    assert listed == {"rated": rated, "plain": defaults}
    assert api.get(f"/api/routing-policies/{r.json()['id']}", org.admin).json()["circuit_breaker"] == rated
    for policy, breaker in ((r.json(), rated), (plain.json(), defaults)):
        plan = api.post(f"/api/routing-policies/{policy['id']}/test", org.admin)
        assert plan.status_code == 200, plan.text
        assert plan.json()["circuit_breaker"] == breaker


@pytest.mark.parametrize("field,value", [("error_rate", 1.5), ("error_rate", 0), ("error_rate", "often"),
                                         ("window_s", 0), ("min_requests", 0)])
def test_bad_breaker_settings_get_422_naming_the_field(api: Api, fake: FakeOpenAI, field: str,
                                                       value: object) -> None:
    org = api.org_with_key(fake.url)
    r = api.post("/api/routing-policies", org.admin, {
        "name": "bad", "targets": [{"model": "gpt-4o-mini"}], "circuit_breaker": {"error_rate": 0.5, field: value}})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "circuit_breaker", field]
    assert api.get("/api/routing-policies", org.admin).json() == []


def test_a_policy_with_an_error_rate_skips_a_target_failing_every_other_call(
        api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    r = api.post("/api/routing-policies", org.admin, {
        "name": "flaky", "targets": [{"model": "gpt-4o-mini"}], "retries": {"max_attempts": 1},
        "circuit_breaker": {"failure_threshold": 100, "error_rate": 0.5, "min_requests": 4}})
    assert r.status_code == 201, r.text
    eventually(lambda: chat(full_server.url, org.key["key"], "flaky").status_code == 200, within_s=2.0)
    fake.fail_next(Fault(503), Fault(), Fault(503))
    # with the one success above: 2 of 4 calls failed, never two in a row, and the breaker opens
    assert [chat(full_server.url, org.key["key"], "flaky").status_code for _ in range(3)] == [502, 200, 502]
    calls = len(fake.requests)
    skipped = chat(full_server.url, org.key["key"], "flaky")
    assert (skipped.status_code, skipped.headers["x-bonito-attempts"]) == (503, "0")
    assert len(fake.requests) == calls


FULL_POLICY: dict[str, object] = {
    "strategy": "smart", "targets": [{"model": "gpt-4o-mini"}, {"model": "backup"}],
    "retries": {"max_attempts": 2}, "timeout_s": 20.0, "attempt_timeout_s": 4.0,
    "circuit_breaker": {"failure_threshold": 3, "cooldown_s": 10.0, "error_rate": None, "window_s": 60.0,
                        "min_requests": 20},
    "rules": [{"name": "premium", "when": {"field": "metadata.tier", "op": "eq", "value": "premium"},
               "targets": ["backup"]}],
}


def test_every_field_of_a_route_is_taken_stored_returned_and_served(
        api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    api.post("/api/models", org.admin, {"name": "backup", "provider_id": org.provider["id"], "model": "gpt-4o"})
    r = api.post("/api/routing-policies", org.admin, {"name": "tiered", **FULL_POLICY, "smart": {"threshold": 0.9}})
    assert r.status_code == 201, r.text
    made = r.json()
    listed = api.get("/api/routing-policies", org.admin).json()[0]
    for policy in (made, listed, api.get(f"/api/routing-policies/{made['id']}", org.admin).json()):
        assert {k: policy[k] for k in FULL_POLICY} == FULL_POLICY
        assert policy["smart"]["threshold"] == 0.9
    eventually(lambda: chat(full_server.url, org.key["key"], "tiered").status_code == 200, within_s=2.0)
    # the rule and the threshold are served: premium goes to backup, a plain prompt (below 0.9) to the cheapest
    premium = chat(full_server.url, org.key["key"], "tiered", **{"x-bonito-metadata": '{"tier": "premium"}'})
    assert premium.headers["x-bonito-model-used"] == "backup"
    assert chat(full_server.url, org.key["key"], "tiered").headers["x-bonito-model-used"] == "gpt-4o-mini"
    plan = api.post(f"/api/routing-policies/{made['id']}/test", org.admin,
                    {"request": {"messages": [{"role": "user", "content": "hi"}], "metadata": {"tier": "premium"}}})
    assert plan.status_code == 200, plan.text
    assert (plan.json()["rule"], plan.json()["first_target"]) == ("premium", "backup")
    assert plan.json()["attempt_timeout_s"] == 4.0
    plain = api.post(f"/api/routing-policies/{made['id']}/test", org.admin).json()
    assert (plain["rule"], plain["first_target"]) == (None, "gpt-4o-mini")


def test_patch_changes_the_fields_given_keeps_the_rest_and_serves_within_two_seconds(
        api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    api.post("/api/models", org.admin, {"name": "backup", "provider_id": org.provider["id"], "model": "gpt-4o"})
    made = api.post("/api/routing-policies", org.admin, {"name": "prod", **FULL_POLICY, "strategy": "failover"}).json()
    eventually(lambda: chat(full_server.url, org.key["key"], "prod").status_code == 200, within_s=2.0)
    assert chat(full_server.url, org.key["key"], "prod").headers["x-bonito-model-used"] == "gpt-4o-mini"

    r = api.patch(f"/api/routing-policies/{made['id']}", org.admin, {
        "targets": [{"model": "backup"}, {"model": "gpt-4o-mini"}], "circuit_breaker": {"cooldown_s": 5},
        "attempt_timeout_s": None})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["targets"] == [{"model": "backup"}, {"model": "gpt-4o-mini"}]
    assert changed["circuit_breaker"]["cooldown_s"] == 5.0
    assert changed["circuit_breaker"]["failure_threshold"] == 3  # merged field by field: the rest kept
    assert changed["attempt_timeout_s"] is None  # null: back to the default
    assert (changed["retries"], changed["timeout_s"], changed["strategy"]) == ({"max_attempts": 2}, 20.0, "failover")
    assert changed["rules"] == FULL_POLICY["rules"] and changed["id"] == made["id"]
    assert api.get(f"/api/routing-policies/{made['id']}", org.admin).json() == changed
    eventually(lambda: chat(full_server.url, org.key["key"], "prod").headers.get("x-bonito-model-used") == "backup",
               within_s=2.0)
    events = api.get("/api/audit", org.admin, params={"action": "routing_policy.update"}).json()["items"]
    assert [(e["target_id"], e["details"]["fields"]) for e in events] == [
        (made["id"], ["attempt_timeout_s", "circuit_breaker", "targets"])]

    # an rt- key made by a patch is shown once, and serves
    keyed = api.patch(f"/api/routing-policies/{made['id']}", org.admin, {"generate_key": True}).json()
    assert keyed["key"].startswith("rt-") and keyed["key_last4"] == keyed["key"][-4:]
    assert api.get(f"/api/routing-policies/{made['id']}", org.admin).json()["key"] is None
    eventually(lambda: chat(full_server.url, keyed["key"], "anything").status_code == 200, within_s=2.0)


def test_patching_another_orgs_policy_is_a_404(api: Api, fake: FakeOpenAI) -> None:
    org, other = api.org_with_key(fake.url), api.org_with_key(fake.url)
    made = api.post("/api/routing-policies", org.admin, {"name": "mine", "targets": [{"model": "gpt-4o-mini"}]})
    r = api.patch(f"/api/routing-policies/{made.json()['id']}", other.admin, {"timeout_s": 5})
    assert r.status_code == 404
    assert api.get(f"/api/routing-policies/{made.json()['id']}", org.admin).json()["timeout_s"] == 30.0


@pytest.mark.parametrize("patch,loc", [
    ({"timeout_s": 0}, ["body", "timeout_s"]),
    ({"smart": {"threshold": 2}}, ["body", "smart", "threshold"]),
    ({"attempt_timeout_s": "soon"}, ["body", "attempt_timeout_s"]),
    ({"strategy": "ab_test"}, ["body", "targets"]),  # checked whole: the stored targets have no weights
    ({"targets": [{"model": "nope"}]}, ["body", "targets", 0, "model"]),
    ({"rules": [{"when": {"field": "user", "value": "x"}, "targets": ["nope"]}]}, ["body", "rules", 0, "targets", 0]),
    ({"rules": [{"when": {"field": "user"}, "route": "missing"}]}, ["body", "rules", 0, "route"]),
    ({"rules": [{"when": {"field": "user", "op": "in", "value": "x"}, "targets": ["gpt-4o-mini"]}]},
     ["body", "rules", 0, "when"]),
    ({"rules": [{"when": {"field": "user", "value": 10**30}, "targets": ["gpt-4o-mini"]}]},
     ["body", "rules", 0, "when", "value"]),
    ({"colour": "blue"}, ["body", "colour"]),
])
def test_a_bad_patch_is_a_422_naming_the_field_and_changes_nothing(
        api: Api, fake: FakeOpenAI, patch: dict[str, object], loc: list[object]) -> None:
    org = api.org_with_key(fake.url)
    made = api.post("/api/routing-policies", org.admin, {"name": "p", "targets": [{"model": "gpt-4o-mini"}]}).json()
    r = api.patch(f"/api/routing-policies/{made['id']}", org.admin, patch)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == loc
    assert api.get(f"/api/routing-policies/{made['id']}", org.admin).json() == {**made, "key": None}


def test_a_patch_serves_on_every_replica_within_two_seconds(
        tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI) -> None:
    env = {"BONITO_DATA_DIR": str(tmp_path_factory.mktemp("shared-db"))}
    with BonitoServer(tmp_path_factory.mktemp("r1"), env=env) as one, \
            BonitoServer(tmp_path_factory.mktemp("r2"), env=env) as two:
        api = Api(one.url)
        org = api.org_with_key(fake.url)
        api.post("/api/models", org.admin, {"name": "backup", "provider_id": org.provider["id"], "model": "gpt-4o"})
        made = api.post("/api/routing-policies", org.admin, {
            "name": "p", "targets": [{"model": "gpt-4o-mini"}, {"model": "backup"}]}).json()

        def used(server: BonitoServer) -> str | None:
            return chat(server.url, org.key["key"], "p").headers.get("x-bonito-model-used")

        eventually(lambda: used(one) == used(two) == "gpt-4o-mini", within_s=5.0)
        assert api.patch(f"/api/routing-policies/{made['id']}", org.admin, {
            "rules": [{"name": "big", "when": {"field": "max_tokens", "op": "gte", "value": 100},
                       "targets": ["backup"]}],
            "targets": [{"model": "backup"}, {"model": "gpt-4o-mini"}]}).status_code == 200
        eventually(lambda: used(one) == used(two) == "backup", within_s=2.0)
        api.close()


def test_renaming_a_policy_carries_the_rules_naming_it_and_a_named_policy_cannot_be_deleted(
        api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    api.post("/api/models", org.admin, {"name": "backup", "provider_id": org.provider["id"], "model": "gpt-4o"})
    big = api.post("/api/routing-policies", org.admin, {"name": "big", "targets": [{"model": "backup"}]}).json()
    front = api.post("/api/routing-policies", org.admin, {
        "name": "front", "targets": [{"model": "gpt-4o-mini"}],
        "rules": [{"name": "vip", "when": {"field": "metadata.tier", "op": "eq", "value": "premium"},
                   "route": "big"}]}).json()

    r = api.patch(f"/api/routing-policies/{big['id']}", org.admin, {"name": "large"})
    assert r.status_code == 200, r.text
    assert api.get(f"/api/routing-policies/{front['id']}", org.admin).json()["rules"][0]["route"] == "large"
    premium = {"x-bonito-metadata": '{"tier": "premium"}'}
    eventually(lambda: chat(full_server.url, org.key["key"], "front", **premium).headers.get(
        "x-bonito-model-used") == "backup", within_s=2.0)

    r = api.delete(f"/api/routing-policies/{big['id']}", org.admin)
    assert r.status_code == 409 and "'front'" in r.text
    assert api.get(f"/api/routing-policies/{big['id']}", org.admin).status_code == 200
    assert api.delete(f"/api/routing-policies/{front['id']}", org.admin).status_code == 204
    assert api.delete(f"/api/routing-policies/{big['id']}", org.admin).status_code == 204
