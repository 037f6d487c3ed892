"""Security headers, CORS allow-list, body limit, append-only audit log, and /api in config mode."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY, basic_config
from tests.support.server import BonitoServer


def test_api_responses_carry_security_headers(api: Api) -> None:
    for r in (api.http.get("/api/openapi.json"), api.http.get("/api/providers"),
              api.http.post("/api/auth/login", json={})):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] and r.headers["permissions-policy"]
        assert r.headers["x-request-id"]
    r = api.http.get("/api/openapi.json", headers={"x-forwarded-proto": "https"})
    assert "max-age=" in r.headers["strict-transport-security"]


def test_no_cors_origin_is_allowed_by_default(api: Api) -> None:
    r = api.http.get("/api/openapi.json", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    pre = api.http.options("/api/auth/login", headers={"origin": "https://evil.example",
                                                       "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in pre.headers and pre.status_code < 500


def test_configured_cors_origins_are_allowed(tmp_path: Path) -> None:
    with BonitoServer(tmp_path, env={"BONITO_CORS_ORIGINS": "https://app.example"}) as srv:
        ok = httpx.options(srv.url + "/api/auth/login", headers={
            "origin": "https://app.example", "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert ok.status_code in (200, 204) and ok.headers["access-control-allow-origin"] == "https://app.example"
        r = httpx.get(srv.url + "/api/openapi.json", headers={"origin": "https://app.example"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = httpx.get(srv.url + "/api/openapi.json", headers={"origin": "https://other.example"})
        assert "access-control-allow-origin" not in r.headers


def test_oversized_bodies_get_413(api: Api) -> None:
    big = b'{"email": "' + b"a" * (11 * 1024 * 1024) + b'"}'
    r = api.http.post("/api/auth/login", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_audit_log_records_sensitive_actions_and_exports(api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    api.delete(f"/api/gateway/keys/{org.key['id']}", org.admin)
    api.login(org.admin.email)
    actions = [e["action"] for e in api.get("/api/audit", org.admin).json()["items"]]
    for expected in ("auth.register", "auth.login", "provider.create", "key.create", "key.revoke"):
        assert expected in actions
    r = api.get("/api/audit/export", org.admin)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.status_code == 200 and {"action", "actor_email", "created_at"} <= set(rows[0])
    assert {row["action"] for row in rows} >= {"key.create", "key.revoke"}
    assert org.key["key"] not in r.text


def test_audit_log_filters_by_action_family_actor_and_time(api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    api.delete(f"/api/gateway/keys/{org.key['id']}", org.admin)
    everything = api.get("/api/audit", org.admin, params={"limit": 1000}).json()["items"]

    def actions(**params: str) -> list[str]:
        r = api.get("/api/audit", org.admin, params={"limit": "1000", **params})
        assert r.status_code == 200, r.text
        return [e["action"] for e in r.json()["items"]]

    assert actions(action="key.create") == ["key.create"]
    assert sorted(actions(action="key.*")) == ["key.create", "key.revoke"]
    assert actions(actor=org.admin.email.upper()) == [e["action"] for e in everything]
    assert actions(actor="someone-else@example.com") == []
    newest = everything[0]["created_at"]
    assert actions(start=newest) == [e["action"] for e in everything if e["created_at"] >= newest]
    assert actions(end=everything[-1]["created_at"]) == []
    export = api.get("/api/audit/export", org.admin, params={"action": "key.*"}).text
    assert {row["action"] for row in csv.DictReader(io.StringIO(export))} == {"key.create", "key.revoke"}
    for params, field in (({"action": "DROP TABLE"}, "action"), ({"start": "2026-02-01", "end": "2026-01-01"},
                                                                  "end")):
        bad = api.get("/api/audit", org.admin, params=params)
        assert bad.status_code == 422 and field in bad.text, bad.text


def test_the_audit_table_refuses_updates_and_deletes(full_server: BonitoServer, api: Api) -> None:
    api.register()
    db = sqlite3.connect(full_server.workdir / ".bonito" / "bonito.db", timeout=10)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit_events SET action = 'x'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit_events")
    finally:
        db.close()


def test_with_a_config_file_api_serves_accounts_and_usage_but_config_is_the_files(
        tmp_path: Path, fake: FakeOpenAI) -> None:
    with BonitoServer(tmp_path, basic_config(fake.url)) as srv:
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "bonito", "admin", "create", "--email", "ops@example.com",
                        "--password", "long enough password"], cwd=tmp_path, check=True, capture_output=True)
        client = Api(srv.url)
        tokens = client.login("ops@example.com", "long enough password").json()
        access = tokens["access_token"]
        r = client.post("/api/providers", access, {"name": "p", "type": "openai", "credentials": {}})
        assert r.status_code == 409 and "bonito.yaml" in r.text
        rid = chat(srv.url, KEY, **{"x-request-id": "config-mode-usage-1"}).headers["x-request-id"]

        def logged() -> bool:
            items = client.get("/api/gateway/logs", access).json()["items"]
            return rid in {i["request_id"] for i in items}

        eventually(logged, within_s=10)
        assert client.get("/api/gateway/usage", access).json()["requests"] >= 1
        client.close()
