"""Platform admins put an org on a tier (`PATCH /api/admin/orgs/{id}`): audited, shown in the org list,
and its keys' limits follow; nobody else may."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.control.helpers import Account, Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

BOSS = "boss@example.com"


@pytest.fixture(scope="module")
def admin_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BonitoServer, Api]]:
    with BonitoServer(tmp_path_factory.mktemp("admin"), env={"ADMIN_EMAILS": BOSS}) as srv:
        api = Api(srv.url)
        yield srv, api
        api.close()


@pytest.fixture(scope="module")
def boss(admin_api: tuple[BonitoServer, Api]) -> Account:
    return admin_api[1].register(BOSS, org_name="platform")


def test_a_platform_admin_sets_an_orgs_tier_and_its_keys_limits_follow(
        admin_api: tuple[BonitoServer, Api], boss: Account, upstream: FakeOpenAI) -> None:
    srv, api = admin_api
    org = api.org_with_key(upstream.url)
    orgs = {o["id"]: o["tier"] for o in api.get("/api/admin/orgs", boss).json()}
    assert orgs[org.admin.org_id] == "enterprise"

    r = api.patch(f"/api/admin/orgs/{org.admin.org_id}", boss, {"tier": "free"})
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["tier"]) == (org.admin.org_id, "free")
    assert {o["id"]: o["tier"] for o in api.get("/api/admin/orgs", boss).json()}[org.admin.org_id] == "free"
    events = api.get("/api/audit", org.admin, params={"action": "org.tier"}).json()["items"]
    assert [(e["actor_email"], e["details"]) for e in events] == [(BOSS, {"from": "enterprise", "to": "free"})]

    # the free tier allows 30 requests a minute to the org's keys without their own limit (enterprise: 60)
    fresh = api.post("/api/gateway/keys", org.admin, {"name": "after"}).json()["key"]
    eventually(lambda: chat(srv.url, fresh).status_code == 200, within_s=2.0)
    answered = 1
    statuses = [chat(srv.url, org.key["key"]).status_code for _ in range(31)]
    answered += statuses.count(200)
    assert answered == 30 and statuses[-1] == 429


def test_only_platform_admins_set_tiers_and_bad_input_is_a_422(admin_api: tuple[BonitoServer, Api],
                                                               boss: Account) -> None:
    _, api = admin_api
    user = api.register(org_name="ordinary")
    assert api.patch(f"/api/admin/orgs/{user.org_id}", user, {"tier": "enterprise"}).status_code == 404
    assert api.get("/api/admin/orgs", user).status_code == 403
    r = api.patch(f"/api/admin/orgs/{user.org_id}", boss, {"tier": "gold"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "tier"]
    assert api.patch("/api/admin/orgs/org_missing", boss, {"tier": "pro"}).status_code == 404
    assert api.patch(f"/api/admin/orgs/{user.org_id}", boss, {"tier": "pro"}).json()["tier"] == "pro"


def test_a_self_hosted_install_puts_new_orgs_on_its_default_tier(tmp_path_factory: pytest.TempPathFactory) -> None:
    config = "version: 1\ndefault_tier: free\n"
    with BonitoServer(tmp_path_factory.mktemp("tier"), config, env={"ADMIN_EMAILS": BOSS}) as srv:
        api = Api(srv.url)
        try:
            boss = api.register(BOSS, org_name="platform")
            user = api.register(org_name="newcomer")
            orgs = {o["id"]: o["tier"] for o in api.get("/api/admin/orgs", boss).json()}
            assert orgs[user.org_id] == "free" and orgs[boss.org_id] == "free"
        finally:
            api.close()
