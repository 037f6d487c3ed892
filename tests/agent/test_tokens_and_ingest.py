"""The agent-facing API on a real control plane: bt- org tokens (issue, rotate with and without an
overlap, revoke), what they open and what they do not, ETag/304, idempotent ingest."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.agent.conftest import CONTROL_PLANE_ONLY_KEY, ingest, issue_token, logs
from tests.control.helpers import Api
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


def _config(base: str, token: str, etag: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"}
    if etag:
        headers["if-none-match"] = etag
    return httpx.get(base + "/api/agent/config", headers=headers, timeout=30)


def _record(rid: str, request_id: str, **kw: Any) -> dict[str, Any]:
    return {"id": rid, "request_id": request_id, "org_id": "ignored", "key_id": None, "key_name": None,
            "model_requested": "gpt-4o-mini", "model_used": "gpt-4o-mini", "provider": "p", "endpoint": "chat",
            "prompt_tokens": 10, "completion_tokens": 5, "cost_usd": "0.25", "latency_ms": 12.5, "status": 200,
            "created_at": datetime.now(UTC).isoformat(), **kw}


def test_a_token_opens_the_agent_endpoints_only(api: Api, control: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url, api_key=CONTROL_PLANE_ONLY_KEY)
    token = issue_token(api, org.admin)
    r = _config(control.url, token)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["org_id"] == org.admin.org_id and "gpt-4o-mini" in doc["models"]
    assert CONTROL_PLANE_ONLY_KEY not in r.text and org.key["key"] not in r.text  # hashes and names only
    assert [k["key_sha256"] for k in doc["keys"]] and doc["providers"][org.provider["id"]]["type"] == "openai"

    # unchanged: 304 with the same ETag; a change through /api gives a new one
    etag = r.headers["etag"]
    assert _config(control.url, token, etag).status_code == 304
    assert api.post("/api/gateway/keys", org.admin, {"name": "second"}).status_code == 201
    r2 = _config(control.url, token, etag)
    assert r2.status_code == 200 and r2.headers["etag"] != etag

    bearer = {"authorization": f"Bearer {token}"}
    for path in ("/api/auth/me", "/api/gateway/keys", "/api/gateway/usage", f"/api/orgs/{org.admin.org_id}/agent"):
        assert httpx.get(control.url + path, headers=bearer).status_code == 401, path
    assert httpx.get(control.url + "/v1/models", headers=bearer).status_code == 401
    r = httpx.post(control.url + "/v1/chat/completions", headers=bearer,
                   json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 401 and r.json()["error"]["type"]

    # anything else on the agent endpoints: 401
    for creds in ({}, {"authorization": f"Bearer {org.admin.access}"}, {"authorization": f"Bearer {org.key['key']}"},
                  {"authorization": "Bearer bt-not-a-token"}):
        assert httpx.get(control.url + "/api/agent/config", headers=creds).status_code == 401
        assert httpx.post(control.url + "/api/agent/heartbeat", headers=creds, json={}).status_code == 401
        assert ingest(control.url, creds.get("authorization", " x").split(" ")[1], []).status_code == 401


def test_rotation_with_and_without_overlap_and_revocation(api: Api, control: BonitoServer) -> None:
    admin = api.register()
    first = issue_token(api, admin)
    second = issue_token(api, admin, overlap_s=0)  # the first is revoked at once
    assert _config(control.url, first).status_code == 401
    assert _config(control.url, second).status_code == 200

    r = httpx.post(f"{control.url}/api/orgs/{admin.org_id}/agent/token", headers=admin.headers)  # no body
    assert r.status_code == 201 and r.json()["token"].startswith("bt-")
    third = issue_token(api, admin, overlap_s=3)  # the second keeps working for 3 s
    assert _config(control.url, second).status_code == 200
    assert _config(control.url, third).status_code == 200
    time.sleep(3.5)
    assert _config(control.url, second).status_code == 401
    assert _config(control.url, third).status_code == 200

    assert api.delete(f"/api/orgs/{admin.org_id}/agent/token", admin).status_code == 204
    assert _config(control.url, third).status_code == 401

    # another org does not exist for the caller; a member is not an admin
    other = api.register()
    assert api.post(f"/api/orgs/{admin.org_id}/agent/token", other, {}).status_code == 404
    assert api.get(f"/api/orgs/{admin.org_id}/agent", other).status_code == 404
    member = api.add_member(admin, "member")
    assert api.post(f"/api/orgs/{admin.org_id}/agent/token", member, {}).status_code == 403
    r = api.post(f"/api/orgs/{admin.org_id}/agent/token", admin, {"overlap_s": -1})
    assert r.status_code == 422 and "overlap_s" in r.text
    audit = api.get("/api/audit", admin).json()
    actions = [e["action"] for e in (audit["items"] if isinstance(audit, dict) else audit)]
    assert "agent.token.issue" in actions and "agent.token.revoke" in actions


def test_ingest_is_idempotent_per_org_and_record_id(api: Api, control: BonitoServer) -> None:
    a, b = api.register(), api.register()
    ta, tb = issue_token(api, a), issue_token(api, b)
    rid = uuid.uuid4().hex
    batch = [_record(rid, "same-request-id"), _record(uuid.uuid4().hex, "same-request-id")]
    for _ in range(3):  # a retried batch writes nothing twice
        r = ingest(control.url, ta, batch)
        assert r.status_code == 200, r.text
    assert ingest(control.url, tb, [_record(rid, "other-org")]).status_code == 200  # same id, other org

    items_a = logs(api, a)
    assert sorted(i["request_id"] for i in items_a) == ["same-request-id", "same-request-id"]
    assert {i["source"] for i in items_a} == {"vpc_agent"}
    assert [i["request_id"] for i in logs(api, b)] == ["other-org"]
    usage = api.get("/api/gateway/usage", a).json()
    assert usage["requests"] == 2

    bad = ingest(control.url, ta, [{**_record("x", "y"), "prompt_tokens": -1}])
    assert bad.status_code == 422 and "prompt_tokens" in bad.text
    bad = ingest(control.url, ta, [{"request_id": "no-id"}])
    assert bad.status_code == 422 and "records.0.id" in bad.text
    r = httpx.post(control.url + "/api/agent/ingest", content=b"\x1f\x8bnot gzip",
                   headers={"authorization": f"Bearer {ta}", "content-encoding": "gzip"})
    assert r.status_code == 422


def test_a_malformed_record_is_a_422_naming_its_field(api: Api, control: BonitoServer) -> None:
    token = issue_token(api, api.register())
    for field, value in (("latency_ms", "slow"), ("stream", {"a": 1}), ("decision", [1]), ("status", 99),
                         ("created_at", "yesterday"), ("cost_usd", "-1"), ("request_id", ""),
                         ("cache", "x" * 100), ("cache_saved_usd", "abc"), ("cache_saved_usd", {"a": 1})):
        r = ingest(control.url, token, [{**_record(uuid.uuid4().hex, "r"), field: value}])
        assert r.status_code == 422 and f"records.0.{field}" in r.text, (field, r.text)
    assert ingest(control.url, token, ["not a record"]).status_code == 422
    r = httpx.post(control.url + "/api/agent/ingest", content=b'{"records": 1}',
                   headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 422 and "records" in r.text


def test_a_heartbeat_needs_only_an_id_and_a_bad_one_is_a_422(api: Api, control: BonitoServer) -> None:
    admin = api.register()
    bearer = {"authorization": f"Bearer {issue_token(api, admin)}"}
    r = httpx.post(control.url + "/api/agent/heartbeat", headers=bearer, json={"id": "edge-1", "uptime": 5})
    assert r.status_code == 200, r.text
    listed = api.get(f"/api/orgs/{admin.org_id}/agent", admin).json()["agents"]
    assert [(a["id"], a["status"], a["requests"]) for a in listed] == [("edge-1", "connected", 0)]
    for body, field in (({"agent_id": "no spaces allowed"}, "agent_id"), ({"id": "a", "requests": -1}, "requests"),
                        ({"id": "a", "spool_depth": 2**64}, "spool_depth")):
        r = httpx.post(control.url + "/api/agent/heartbeat", headers=bearer, json=body)
        assert r.status_code == 422 and field in r.text, (body, r.text)
    # a bare list of records is an ingest body too
    r = httpx.post(control.url + "/api/agent/ingest", headers=bearer, json=[_record(uuid.uuid4().hex, "bare")])
    assert r.status_code == 200 and [i["request_id"] for i in logs(api, admin)] == ["bare"]
