"""Each org's routing state is its own (full mode): two orgs registered through /api with identical
provider, model and route names never share a circuit breaker, a latency observation or a round-robin
turn — in one process, and across two replicas sharing a real Redis server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.control.helpers import Account, Api, eventually
from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.redis import RedisServer
from tests.support.server import BonitoServer

MODELS = ("m1", "m2", "m3")


@dataclass
class Tenant:
    """An org whose models m1, m2, m3 are each served by its own fake upstream (providers p1, p2, p3)."""

    admin: Account
    key: str
    fakes: dict[str, FakeOpenAI]

    def reset(self) -> None:
        for f in self.fakes.values():
            f.reset()


def make_tenant(api: Api, fakes: dict[str, FakeOpenAI]) -> Tenant:
    admin = api.register(org_name="same-names")
    for m in MODELS:
        provider = api.post("/api/providers", admin, {
            "name": f"p{m[1]}", "type": "openai", "credentials": {"base_url": fakes[m].url, "api_key": "sk-upstream"}})
        assert provider.status_code == 201, provider.text
        model = api.post("/api/models", admin, {"name": m, "provider_id": provider.json()["id"], "model": f"up-{m}"})
        assert model.status_code == 201, model.text
    key = api.post("/api/gateway/keys", admin, {"name": "app", "requests_per_minute": 100000})
    assert key.status_code == 201, key.text
    return Tenant(admin, key.json()["key"], fakes)


def add_route(api: Api, tenant: Tenant, body: dict[str, Any]) -> str:
    r = api.post("/api/routing-policies", tenant.admin, body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def ask(server: BonitoServer, tenant: Tenant, model: str) -> tuple[str, str]:
    """One chat through the official SDK: (x-bonito-model-used, x-bonito-attempts)."""
    raw = server.openai(tenant.key, timeout=30).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello"}])
    raw.parse()
    return raw.headers["x-bonito-model-used"], raw.headers["x-bonito-attempts"]


def breakers(api: Api, tenant: Tenant, policy_id: str) -> dict[str, str]:
    plan = api.post(f"/api/routing-policies/{policy_id}/test", tenant.admin)
    assert plan.status_code == 200, plan.text
    return {t["model"]: t["breaker"] for t in plan.json()["targets"]}


def listed(server: BonitoServer, tenant: Tenant, name: str) -> bool:
    """Is `name` served to the tenant's key yet (asked without taking a turn)?"""
    try:
        server.openai(tenant.key).models.retrieve(name)
    except Exception:
        return False
    return True


def served(server: BonitoServer, tenant: Tenant, model: str) -> bool:
    try:
        ask(server, tenant, model)
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, dict[str, FakeOpenAI]]]:
    upstreams = {org: {m: FakeOpenAI().start() for m in MODELS} for org in ("a", "b")}
    yield upstreams
    for by_model in upstreams.values():
        for f in by_model.values():
            f.stop()


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("orgs")) as server:
        yield server


@pytest.fixture(scope="module")
def tenants(full: BonitoServer, fakes: dict[str, dict[str, FakeOpenAI]]) -> Iterator[tuple[Tenant, Tenant]]:
    api = Api(full.url)
    pair = make_tenant(api, fakes["a"]), make_tenant(api, fakes["b"])
    yield pair
    api.close()


@pytest.fixture
def orgs(tenants: tuple[Tenant, Tenant]) -> Iterator[tuple[Tenant, Tenant]]:
    for t in tenants:
        t.reset()
    yield tenants
    for t in tenants:
        t.reset()


def test_one_orgs_failing_upstream_leaves_the_other_orgs_breaker_closed(
        full: BonitoServer, orgs: tuple[Tenant, Tenant]) -> None:
    a, b = orgs
    api = Api(full.url)
    route = {"name": "chat", "strategy": "failover", "targets": [{"model": "m1"}, {"model": "m2"}],
             "retries": {"max_attempts": 1}, "circuit_breaker": {"failure_threshold": 2, "cooldown_s": 60}}
    a_id, b_id = add_route(api, a, route), add_route(api, b, route)
    eventually(lambda: served(full, a, "chat") and served(full, b, "chat"), within_s=5.0)
    a.reset()
    b.reset()

    a.fakes["m1"].fail_always(Fault(503))
    assert [ask(full, a, "chat") for _ in range(3)] == [("m2", "2"), ("m2", "2"), ("m2", "1")]
    assert breakers(api, a, a_id)["m1"] == "open"

    # org b's m1 (same route and model names, its own upstream) is untouched
    assert [ask(full, b, "chat") for _ in range(5)] == [("m1", "1")] * 5
    assert len(b.fakes["m1"].requests) == 5 and len(b.fakes["m2"].requests) == 0
    assert breakers(api, b, b_id) == {"m1": "closed", "m2": "closed"}
    api.close()


def test_one_orgs_latency_does_not_steer_the_other_orgs_latency_optimized_route(
        full: BonitoServer, orgs: tuple[Tenant, Tenant]) -> None:
    a, b = orgs
    api = Api(full.url)
    route = {"name": "fast", "strategy": "latency_optimized", "targets": [{"model": "m1"}, {"model": "m2"}]}
    add_route(api, a, route)
    b_id = add_route(api, b, route)
    eventually(lambda: served(full, a, "m1") and served(full, b, "m1"), within_s=5.0)
    # a's m1 answers, slowly: slow enough that one measured call outweighs m2's first measurement even when a
    # loaded machine stalls it (the first observation is taken whole, later ones decay in at 0.3)
    a.fakes["m1"].fail_always(Fault(delay_s=1.5))
    eventually(lambda: served(full, a, "fast"), within_s=5.0)
    used = [ask(full, a, "fast")[0] for _ in range(4)]
    assert used[-2:] == ["m2", "m2"]  # a has measured both and prefers its fast m2

    # b's m1 and m2 were measured by b's traffic only (one call to m1 in the readiness check above)
    plan = api.post(f"/api/routing-policies/{b_id}/test", b.admin).json()
    assert plan["first_target"] == "m2", plan["reason"]  # m2 is unmeasured in b: measured first
    scores = plan["explain"]["scores"]
    assert scores["m2"]["latency_ms"] is None
    assert scores["m1"]["latency_ms"] is not None and scores["m1"]["latency_ms"] < 400
    assert ask(full, b, "fast")[0] == "m2"
    api.close()


def test_round_robin_turns_are_per_org(full: BonitoServer, orgs: tuple[Tenant, Tenant]) -> None:
    a, b = orgs
    api = Api(full.url)
    route = {"name": "spread", "strategy": "round_robin", "targets": [{"model": m} for m in MODELS]}
    add_route(api, a, route)
    add_route(api, b, route)
    eventually(lambda: all(listed(full, t, "spread") for t in orgs), within_s=5.0)
    first_a = ask(full, a, "spread")[0]
    assert first_a == "m1"
    assert [ask(full, b, "spread")[0] for _ in range(3)] == ["m1", "m2", "m3"]
    assert ask(full, a, "spread")[0] == "m2"
    api.close()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[BonitoServer]]:
    """Two `bonito serve` processes on one database and one Redis: breakers are shared through Redis."""
    redis = RedisServer(tmp_path_factory.mktemp("redis")).start()
    data: Path = tmp_path_factory.mktemp("shared-data")
    env = {"BONITO_DATA_DIR": str(data), "REDIS_URL": redis.url}
    servers: list[BonitoServer] = []
    try:
        for n in ("1", "2"):  # one after the other: the first creates the database and the master key
            servers.append(BonitoServer(tmp_path_factory.mktemp(f"replica-{n}"), env=env).start())
        yield servers
    finally:
        for s in servers:
            s.stop()
        redis.stop()


def test_across_replicas_sharing_redis_one_orgs_breaker_is_shared_and_the_others_untouched(
        replicas: list[BonitoServer], fakes: dict[str, dict[str, FakeOpenAI]]) -> None:
    one, two = replicas
    api = Api(one.url)
    a, b = make_tenant(api, fakes["a"]), make_tenant(api, fakes["b"])
    route = {"name": "chat", "strategy": "failover", "targets": [{"model": "m1"}, {"model": "m2"}],
             "retries": {"max_attempts": 1}, "circuit_breaker": {"failure_threshold": 2, "cooldown_s": 60}}
    a_id, b_id = add_route(api, a, route), add_route(api, b, route)
    eventually(lambda: all(served(s, t, "chat") for s in replicas for t in (a, b)), within_s=5.0)
    for t in (a, b):
        t.reset()

    a.fakes["m1"].fail_always(Fault(503))
    assert [ask(one, a, "chat") for _ in range(2)] == [("m2", "2"), ("m2", "2")]  # opened, in Redis
    # the other replica learns of a's open breaker through Redis (its refresh runs every 0.5 s)
    eventually(lambda: ask(two, a, "chat") == ("m2", "1"), within_s=5.0)
    calls_a = len(a.fakes["m1"].requests)

    for server in (one, two, one, two):
        assert [ask(server, b, "chat") for _ in range(3)] == [("m1", "1")] * 3
    assert len(b.fakes["m1"].requests) == 12 and len(b.fakes["m2"].requests) == 0
    assert len(a.fakes["m1"].requests) == calls_a  # a's breaker is still open: m1 skipped
    api_two = Api(two.url)
    assert breakers(api_two, b, b_id) == {"m1": "closed", "m2": "closed"}
    assert breakers(api_two, a, a_id)["m1"] == "open"
    api.close()
    api_two.close()
