"""Role matrix (viewers read, members use, admins change) and org isolation (another org's objects: 404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.control.helpers import Account, Api, Org
from tests.fakes.openai_upstream import FakeOpenAI

Call = Callable[[Api, Account, Org], Any]


@pytest.fixture(scope="module")
def world(api: Api, upstream: FakeOpenAI) -> dict[str, Any]:
    org = api.org_with_key(upstream.url)
    policy = api.post("/api/routing-policies", org.admin, {
        "name": "prod-chat", "strategy": "failover", "targets": [{"model": "gpt-4o-mini"}]})
    assert policy.status_code == 201, policy.text
    org.extra["policy"] = policy.json()
    other = api.org_with_key(upstream.url)
    return {"org": org, "other": other, "admin": org.admin, "member": api.add_member(org.admin, "member"),
            "viewer": api.add_member(org.admin, "viewer"), "outsider": other.admin}


def _id(o: Org, what: str) -> str:
    return {"provider": o.provider["id"], "model": o.model["id"], "key": o.key["id"],
            "policy": o.extra.get("policy", {}).get("id", "rte_missing")}[what]


# (name, minimum role, request) — each request is made against `org`'s own objects
READS: list[tuple[str, Callable[[Api, Account, Org], Any]]] = [
    ("list providers", lambda a, u, o: a.get("/api/providers", u)),
    ("get provider", lambda a, u, o: a.get(f"/api/providers/{_id(o, 'provider')}", u)),
    ("list models", lambda a, u, o: a.get("/api/models", u)),
    ("get model", lambda a, u, o: a.get(f"/api/models/{_id(o, 'model')}", u)),
    ("list keys", lambda a, u, o: a.get("/api/gateway/keys", u)),
    ("get key", lambda a, u, o: a.get(f"/api/gateway/keys/{_id(o, 'key')}", u)),
    ("list policies", lambda a, u, o: a.get("/api/routing-policies", u)),
    ("get policy", lambda a, u, o: a.get(f"/api/routing-policies/{_id(o, 'policy')}", u)),
    ("usage", lambda a, u, o: a.get("/api/gateway/usage", u)),
    ("logs", lambda a, u, o: a.get("/api/gateway/logs", u)),
    ("analytics", lambda a, u, o: a.get("/api/gateway/analytics", u)),
    ("gateway config", lambda a, u, o: a.get("/api/gateway/config", u)),
    ("members", lambda a, u, o: a.get("/api/org/members", u)),
]
MEMBER_ACTIONS: list[tuple[str, Callable[[Api, Account, Org], Any]]] = [
    ("create key", lambda a, u, o: a.post("/api/gateway/keys", u, {"name": "k"})),
    ("dry-run policy", lambda a, u, o: a.post(f"/api/routing-policies/{_id(o, 'policy')}/test", u)),
    ("validate provider", lambda a, u, o: a.post(f"/api/providers/{_id(o, 'provider')}/validate", u)),
]
ADMIN_ACTIONS: list[tuple[str, Callable[[Api, Account, Org], Any]]] = [
    ("create provider", lambda a, u, o: a.post("/api/providers", u, {
        "name": f"p-{u.user_id[-6:]}", "type": "openai", "credentials": {"api_key": "sk-x"}})),
    ("create model", lambda a, u, o: a.post("/api/models", u, {
        "name": f"m-{u.user_id[-6:]}", "provider_id": _id(o, "provider"), "model": "gpt-4o"})),
    ("create policy", lambda a, u, o: a.post("/api/routing-policies", u, {
        "name": f"r-{u.user_id[-6:]}", "targets": [{"model": "gpt-4o-mini"}]})),
    ("update provider", lambda a, u, o: a.patch(f"/api/providers/{_id(o, 'provider')}", u, {"name": "local-openai"})),
    ("update model", lambda a, u, o: a.patch(f"/api/models/{_id(o, 'model')}", u, {"enabled": True})),
    ("gateway config", lambda a, u, o: a.http.put("/api/gateway/config", headers=u.headers, json={})),
    ("audit log", lambda a, u, o: a.get("/api/audit", u)),
    ("audit export", lambda a, u, o: a.get("/api/audit/export", u)),
    ("add member", lambda a, u, o: a.post("/api/org/members", u, {"email": f"x{u.user_id[-6:]}@example.com",
                                                                    "role": "viewer", "password": "long enough pw"})),
]


@pytest.mark.parametrize("name,call", READS, ids=[n for n, _ in READS])
def test_every_role_reads(api: Api, world: dict[str, Any], name: str, call: Call) -> None:
    for role in ("admin", "member", "viewer"):
        r = call(api, world[role], world["org"])
        assert r.status_code == 200, (role, r.status_code, r.text)


@pytest.mark.parametrize("name,call", MEMBER_ACTIONS, ids=[n for n, _ in MEMBER_ACTIONS])
def test_members_and_admins_use_viewers_do_not(api: Api, world: dict[str, Any], name: str, call: Call) -> None:
    assert call(api, world["viewer"], world["org"]).status_code == 403
    for role in ("member", "admin"):
        r = call(api, world[role], world["org"])
        assert r.status_code in (200, 201), (role, r.status_code, r.text)


@pytest.mark.parametrize("name,call", ADMIN_ACTIONS, ids=[n for n, _ in ADMIN_ACTIONS])
def test_only_admins_change(api: Api, world: dict[str, Any], name: str, call: Call) -> None:
    for role in ("viewer", "member"):
        assert call(api, world[role], world["org"]).status_code == 403, role
    r = call(api, world["admin"], world["org"])
    assert r.status_code in (200, 201), r.text


def test_a_member_cannot_revoke_someone_elses_key_but_an_admin_can(api: Api, world: dict[str, Any]) -> None:
    key = api.post("/api/gateway/keys", world["admin"], {"name": "admins"}).json()
    assert api.delete(f"/api/gateway/keys/{key['id']}", world["member"]).status_code == 403
    own = api.post("/api/gateway/keys", world["member"], {"name": "mine"}).json()
    assert api.delete(f"/api/gateway/keys/{own['id']}", world["member"]).status_code == 204
    assert api.delete(f"/api/gateway/keys/{key['id']}", world["admin"]).status_code == 204


def test_role_changes_take_effect_and_are_audited(api: Api, world: dict[str, Any]) -> None:
    someone = api.add_member(world["admin"], "viewer")
    assert api.post("/api/gateway/keys", someone, {"name": "k"}).status_code == 403
    r = api.patch(f"/api/org/members/{someone.user_id}", world["admin"], {"role": "member"})
    assert r.status_code == 200 and r.json()["role"] == "member"
    assert api.post("/api/gateway/keys", someone, {"name": "k"}).status_code == 201
    actions = [e["action"] for e in api.get("/api/audit", world["admin"]).json()["items"]]
    assert "member.role_change" in actions and "key.create" in actions


OTHER_ORG: list[tuple[str, Callable[[Api, Account, Org], Any]]] = [
    *[(n, c) for n, c in READS if n.startswith("get ")],
    ("delete provider", lambda a, u, o: a.delete(f"/api/providers/{_id(o, 'provider')}", u)),
    ("delete model", lambda a, u, o: a.delete(f"/api/models/{_id(o, 'model')}", u)),
    ("revoke key", lambda a, u, o: a.delete(f"/api/gateway/keys/{_id(o, 'key')}", u)),
    ("rotate key", lambda a, u, o: a.post(f"/api/gateway/keys/{_id(o, 'key')}/rotate", u)),
    ("update key", lambda a, u, o: a.patch(f"/api/gateway/keys/{_id(o, 'key')}", u, {"name": "x"})),
    ("delete policy", lambda a, u, o: a.delete(f"/api/routing-policies/{_id(o, 'policy')}", u)),
    ("dry-run policy", lambda a, u, o: a.post(f"/api/routing-policies/{_id(o, 'policy')}/test", u)),
    ("validate provider", lambda a, u, o: a.post(f"/api/providers/{_id(o, 'provider')}/validate", u)),
    ("provider catalog", lambda a, u, o: a.get(f"/api/providers/{_id(o, 'provider')}/catalog", u)),
    ("update provider", lambda a, u, o: a.patch(f"/api/providers/{_id(o, 'provider')}", u, {"name": "x"})),
    ("update model", lambda a, u, o: a.patch(f"/api/models/{_id(o, 'model')}", u, {"enabled": False})),
    ("model on their provider", lambda a, u, o: a.post("/api/models", u, {
        "name": "stolen", "provider_id": _id(o, "provider"), "model": "gpt-4o"})),
    ("change their member", lambda a, u, o: a.patch(f"/api/org/members/{o.admin.user_id}", u, {"role": "viewer"})),
]


@pytest.mark.parametrize("name,call", OTHER_ORG, ids=[n for n, _ in OTHER_ORG])
def test_another_orgs_objects_do_not_exist(api: Api, world: dict[str, Any], name: str, call: Call) -> None:
    r = call(api, world["outsider"], world["org"])
    assert r.status_code == 404, (r.status_code, r.text)


def test_lists_and_usage_never_show_another_orgs_objects(api: Api, world: dict[str, Any]) -> None:
    org, outsider = world["org"], world["outsider"]
    mine = {"providers": org.provider["id"], "models": org.model["id"], "gateway/keys": org.key["id"],
            "routing-policies": org.extra["policy"]["id"]}
    for path, oid in mine.items():
        listed = api.get(f"/api/{path}", outsider).text
        assert oid not in listed, path
    for path in ("/api/gateway/logs", "/api/gateway/usage", "/api/audit"):
        text = api.get(path, outsider).text
        assert org.key["id"] not in text and org.admin.email not in text, path


@pytest.fixture(scope="module")
def outsider_viewer(api: Api, world: dict[str, Any]) -> Account:
    return api.add_member(world["outsider"], "viewer")


# objects named in the path (a create that names one in its body is refused for the action itself)
BY_PATH = [(n, c) for n, c in OTHER_ORG if n != "model on their provider"]


@pytest.mark.parametrize("name,call", BY_PATH, ids=[n for n, _ in BY_PATH])
def test_another_orgs_objects_do_not_exist_for_a_viewer_either(
    api: Api, world: dict[str, Any], outsider_viewer: Account, name: str, call: Call
) -> None:
    # existence before permission: a 403 here would confirm the id exists
    r = call(api, outsider_viewer, world["org"])
    assert r.status_code == 404, (r.status_code, r.text)
