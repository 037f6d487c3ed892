"""CONTRACT.md, "Control plane API" and "Environment": security headers, CORS allow-list, body limit, secrets
only hashed or encrypted at rest and never in logs, BONITO_MASTER_KEY and its 0600 key file, ADMIN_EMAILS."""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.contract.api_helpers import assert_security_headers
from tests.control.helpers import PASSWORD, Api, chat, eventually, unique_email
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY, basic_config
from tests.support.server import BonitoServer

MARK = uuid.uuid4().hex[:12]
SECRETS = {
    "openai": f"sk-openai-{MARK}", "aws": f"aws-secret-{MARK}", "session": f"aws-session-{MARK}",
    "azure": f"azure-key-{MARK}", "entra": f"entra-secret-{MARK}", "anthropic": f"anthropic-{MARK}",
    "vertex": f"vertex-private-{MARK}",
}
MEMBER_PASSWORD = f"member password {MARK}"
ROUTE_KEY = f"rt-route-key-{MARK}"


@pytest.fixture(scope="module")
def secrets_everywhere(api: Api, server: BonitoServer, upstream: FakeOpenAI) -> dict[str, str]:
    """An org that has used every kind of secret the control plane takes; returns the plaintexts."""
    org = api.org_with_key(upstream.url, api_key="sk-upstream")
    admin = org.admin
    creds = {
        "bedrock": {"region": "us-east-1", "access_key_id": "AKIAEXAMPLE", "secret_access_key": SECRETS["aws"],
                    "session_token": SECRETS["session"]},
        "azure": {"endpoint": "http://127.0.0.1:9", "api_key": SECRETS["azure"], "api_version": "2024-10-21"},
        "anthropic": {"api_key": SECRETS["anthropic"], "base_url": "http://127.0.0.1:9"},
        "vertex": {"project": "p", "location": "us-central1",
                   "service_account_json": json.dumps({"type": "service_account", "private_key": SECRETS["vertex"]})},
    }
    for ptype, c in creds.items():
        assert api.post("/api/providers", admin, {"name": ptype, "type": ptype, "credentials": c}).status_code == 201
    entra = api.post("/api/providers", admin, {"name": "entra", "type": "azure", "credentials": {
        "endpoint": "http://127.0.0.1:9", "tenant_id": "t", "client_id": "c", "client_secret": SECRETS["entra"]}})
    assert entra.status_code == 201
    # credentials replaced through PATCH are encrypted too
    assert api.patch(f"/api/providers/{org.provider['id']}", admin, {"credentials": {
        "base_url": upstream.url, "api_key": SECRETS["openai"]}}).status_code == 200
    api.post(f"/api/providers/{org.provider['id']}/validate", admin)
    api.post("/api/providers", admin, {"name": "bad", "type": "openai", "credentials": {"api_key": 1,
                                                                                        "x": SECRETS["openai"]}})
    member = api.http.post("/api/org/members", headers=admin.headers, json={
        "email": unique_email("member"), "role": "member", "password": MEMBER_PASSWORD})
    assert member.status_code == 201
    rotated = api.post(f"/api/gateway/keys/{org.key['id']}/rotate", admin).json()["key"]
    second = api.post("/api/gateway/keys", admin, {"name": "second"}).json()["key"]
    route = api.post("/api/routing-policies", admin, {"name": "r", "targets": [{"model": "gpt-4o-mini"}],
                                                      "key": ROUTE_KEY})
    assert route.status_code == 201
    generated = api.post("/api/routing-policies", admin, {"name": "r2", "targets": [{"model": "gpt-4o-mini"}],
                                                          "generate_key": True}).json()["key"]
    refreshed = api.http.post("/api/auth/refresh", json={"refresh_token": admin.refresh}).json()
    login = api.login(admin.email).json()
    api.login(admin.email, f"wrong {MARK} password")
    # served (the upstream refuses that api_key, so not with a 200): the keys and credentials went through the
    # gateway and upstream error paths, where they must not be logged either
    eventually(lambda: chat(server.url, second).status_code != 401, within_s=2.0)
    for key in (rotated, second, generated, ROUTE_KEY):
        chat(server.url, key)
    return {**SECRETS, "password": "correct horse battery staple", "member_password": MEMBER_PASSWORD,
            "original_key": org.key["key"], "rotated_key": rotated, "second_key": second, "route_key": ROUTE_KEY,
            "generated_route_key": generated, "refresh_1": admin.refresh, "refresh_2": refreshed["refresh_token"],
            "refresh_3": login["refresh_token"], "wrong_password": f"wrong {MARK} password"}


def test_api_answers_of_every_kind_carry_the_security_headers(api: Api, upstream: FakeOpenAI) -> None:
    org = api.org_with_key(upstream.url)
    viewer = api.add_member(org.admin, "viewer")
    responses = [
        api.http.get("/api/openapi.json"), api.get("/api/auth/me", org.admin), api.get("/api/providers", "bad"),
        api.post("/api/gateway/keys", org.admin, {"name": "h"}), api.post("/api/gateway/keys", viewer, {"name": "h"}),
        api.get("/api/providers/prv_nope", org.admin), api.post("/api/models", org.admin, {}),
        api.post("/api/providers", org.admin, {"name": "local-openai", "type": "openai", "credentials": {}}),
        api.delete(f"/api/gateway/keys/{org.key['id']}", org.admin), api.http.put("/api/auth/login"),
        api.get("/api/gateway/logs", org.admin, params={"format": "csv"}), api.http.get("/api/no-such-path"),
        api.http.post("/api/auth/login", content=b"{" * 100, headers={"content-type": "application/json"}),
    ]
    statuses = {r.status_code for r in responses}
    assert {200, 201, 204, 401, 403, 404, 405, 409, 422} <= statuses, statuses
    for r in responses:
        assert_security_headers(r)
    tls = api.http.get("/api/auth/me", headers={**org.admin.headers, "x-forwarded-proto": "https"})
    assert "max-age=" in tls.headers["strict-transport-security"]


def test_no_cors_by_default_for_any_origin(api: Api) -> None:
    for origin in ("https://evil.example", "null", "http://127.0.0.1:8000", "http://localhost"):
        r = api.http.get("/api/openapi.json", headers={"origin": origin})
        assert "access-control-allow-origin" not in r.headers, origin
        pre = api.http.options("/api/gateway/keys", headers={
            "origin": origin, "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"})
        assert pre.status_code < 500 and "access-control-allow-origin" not in pre.headers, origin
        assert "access-control-allow-credentials" not in pre.headers


def test_bodies_over_the_default_10_mb_get_413_also_when_chunked(api: Api) -> None:
    big = b'{"email": "' + b"a" * (10 * 1024 * 1024 + 10) + b'", "password": "x"}'
    r = api.http.post("/api/auth/login", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert_security_headers(r)

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "'
        for _ in range(11):
            yield b"a" * (1024 * 1024)
        yield b'"}'

    r = api.http.post("/api/gateway/keys", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    ok = api.http.post("/api/auth/login", json={"email": "a" * 200 + "@x.example", "password": "p" * 200})
    assert ok.status_code in (401, 422)


def test_config_mode_cors_origins_and_max_body_mb_apply_to_api(tmp_path: Path, upstream: FakeOpenAI) -> None:
    extra = "cors_origins: [\"https://app.example\"]\nlimits:\n  max_body_mb: 1\n"
    with BonitoServer(tmp_path, basic_config(upstream.url, extra=extra)) as srv:
        def api_up() -> bool:
            return httpx.get(srv.url + "/api/openapi.json").status_code == 200

        eventually(api_up, within_s=60)  # the control plane starts beside a serving gateway
        r = httpx.get(srv.url + "/api/openapi.json", headers={"origin": "https://app.example"})
        assert r.headers.get("access-control-allow-origin") == "https://app.example"
        pre = httpx.options(srv.url + "/api/auth/login", headers={
            "origin": "https://app.example", "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert pre.status_code in (200, 204) and pre.headers["access-control-allow-origin"] == "https://app.example"
        other = httpx.get(srv.url + "/api/openapi.json", headers={"origin": "https://other.example"})
        assert "access-control-allow-origin" not in other.headers
        over = httpx.post(srv.url + "/api/auth/login", content=b"x" * (1024 * 1024 + 100),
                          headers={"content-type": "application/json"})
        assert over.status_code == 413
        under = httpx.post(srv.url + "/api/auth/login", content=b'{"email": "' + b"a" * 900_000 + b'"}',
                           headers={"content-type": "application/json"})
        assert under.status_code == 422
        assert chat(srv.url, KEY).status_code == 200


def test_passwords_keys_and_refresh_tokens_only_hashed_credentials_only_encrypted(
        server: BonitoServer, secrets_everywhere: dict[str, str]) -> None:
    data = server.workdir / ".bonito"
    blobs = b"".join(p.read_bytes() for p in data.iterdir() if p.name.startswith("bonito.db"))
    assert b"bnx1:" in blobs and b"$argon2id$" in blobs  # the right database, holding ciphertext and hashes
    found = [name for name, value in secrets_everywhere.items() if value.encode() in blobs]
    assert not found, f"plaintext at rest: {found}"
    mode = stat.S_IMODE(os.stat(data / "master.key").st_mode)
    assert mode == 0o600


def test_no_secret_in_the_server_log(server: BonitoServer, secrets_everywhere: dict[str, str]) -> None:
    logs = server.logs()
    found = [name for name, value in secrets_everywhere.items() if value in logs]
    assert not found, f"secrets in the server log: {found}"


def test_bonito_master_key_replaces_the_key_file_and_survives_restart(
        tmp_path: Path, upstream: FakeOpenAI) -> None:
    env = {"BONITO_MASTER_KEY": "a" * 64, "ADMIN_EMAILS": " Boss@Example.com , other@example.com"}
    srv = BonitoServer(tmp_path, env=env).start()
    try:
        api = Api(srv.url)
        org = api.org_with_key(upstream.url)
        eventually(lambda: chat(srv.url, org.key["key"]).status_code == 200, within_s=2.0)
        assert not (tmp_path / ".bonito" / "master.key").exists()
        boss = api.register("boss@example.com")
        assert api.get("/api/auth/me", boss).json()["is_platform_admin"] is True
        assert api.get("/api/auth/me", org.admin).json()["is_platform_admin"] is False
        assert api.get("/api/admin/orgs", boss).status_code == 200
        assert api.get("/api/admin/orgs", org.admin).status_code == 403
        srv.stop()
        srv.start()
        # the same key decrypts the stored credentials, and tokens signed before the restart still verify
        eventually(lambda: chat(srv.url, org.key["key"]).status_code == 200, within_s=5.0)
        assert api.get("/api/auth/me", org.admin).status_code == 200
        assert api.post(f"/api/providers/{org.provider['id']}/validate", org.admin).json()["ok"] is True
        srv.stop()
        srv.env = {**env, "BONITO_MASTER_KEY": "b" * 64}
        srv.start()
        # another key: old tokens are refused, nothing answers 5xx, and the credentials stay unreadable
        assert api.get("/api/auth/me", org.admin).status_code == 401
        fresh = api.login(org.admin.email, PASSWORD)
        assert fresh.status_code == 200
        token = fresh.json()["access_token"]
        assert api.get("/api/providers", token).status_code == 200
        assert api.post(f"/api/providers/{org.provider['id']}/validate", token).status_code < 500
        assert chat(srv.url, org.key["key"]).status_code < 500
        api.close()
    finally:
        srv.stop()
