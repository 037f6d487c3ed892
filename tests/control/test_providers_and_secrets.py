"""Provider connections: schema-checked credentials, encrypted at rest, never answered; validation and
catalog through the adapters."""

from __future__ import annotations

import os
import stat
import time

from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.ports import free_port
from tests.support.server import BonitoServer

SECRET = "sk-very-secret-upstream-credential-4242"


def test_credentials_are_never_answered(api: Api, fake: FakeOpenAI) -> None:
    admin = api.register()
    r = api.post("/api/providers", admin, {"name": "p1", "type": "openai",
                                           "credentials": {"base_url": fake.url, "api_key": SECRET}})
    assert r.status_code == 201 and r.json()["id"]
    pid = r.json()["id"]
    for resp in (r, api.get("/api/providers", admin), api.get(f"/api/providers/{pid}", admin),
                 api.post(f"/api/providers/{pid}/validate", admin), api.get("/api/audit", admin),
                 api.get("/api/audit/export", admin)):
        assert SECRET not in resp.text
        assert "api_key" not in resp.text


def test_credentials_are_checked_against_the_provider_schema(api: Api) -> None:
    admin = api.register()
    r = api.post("/api/providers", admin, {"name": "az", "type": "azure", "credentials": {"api_key": SECRET}})
    assert r.status_code == 422
    assert ["body", "credentials", "endpoint"] in [e["loc"] for e in r.json()["detail"]]
    assert SECRET not in r.text
    r = api.post("/api/providers", admin, {"name": "x", "type": "openai", "credentials": {"apikey": SECRET}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "credentials", "apikey"]
    assert SECRET not in r.text
    r = api.post("/api/providers", admin, {"name": "x", "type": "nope", "credentials": {}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "type"
    ok = api.post("/api/providers", admin, {"name": "aws", "type": "bedrock", "credentials": {
        "region": "eu-west-1", "access_key_id": "AKIAEXAMPLE", "secret_access_key": SECRET}})
    assert ok.status_code == 201
    assert api.post("/api/providers", admin, {"name": "aws", "type": "openai", "credentials": {}}).status_code == 409


def test_validate_uses_the_adapter(api: Api, fake: FakeOpenAI) -> None:
    admin = api.register()
    good = api.post("/api/providers", admin, {"name": "good", "type": "openai",
                                              "credentials": {"base_url": fake.url, "api_key": "sk-upstream"}}).json()
    # (the fake's model list takes any key, so "bad" is an upstream that is not there)
    bad = api.post("/api/providers", admin, {"name": "bad", "type": "openai", "credentials": {
        "base_url": f"http://127.0.0.1:{free_port()}/v1", "api_key": SECRET}}).json()
    r = api.post(f"/api/providers/{good['id']}/validate", admin)
    assert r.status_code == 200 and r.json()["ok"] is True
    r = api.post(f"/api/providers/{bad['id']}/validate", admin)
    assert r.status_code == 200 and r.json()["ok"] is False and SECRET not in r.text
    catalog = api.get(f"/api/providers/{good['id']}/catalog", admin)
    assert catalog.status_code == 200 and all("id" in m for m in catalog.json())


def test_changing_credentials_reaches_the_gateway(api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url, api_key="sk-wrong")
    key = org.key["key"]
    # served, and the upstream refuses the provider's key: a 502 (not the client's 401)
    eventually(lambda: chat(full_server.url, key).status_code == 502, within_s=2.0)
    r = api.patch(f"/api/providers/{org.provider['id']}", org.admin,
                  {"credentials": {"base_url": fake.url, "api_key": "sk-upstream"}})
    assert r.status_code == 200
    eventually(lambda: chat(full_server.url, key).status_code == 200, within_s=2.0)
    assert "provider.credentials_change" in [e["action"] for e in api.get("/api/audit", org.admin).json()["items"]]


def test_deleting_a_provider_removes_its_models_from_the_gateway(
        api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    eventually(lambda: chat(full_server.url, org.key["key"]).status_code == 200, within_s=2.0)
    assert api.delete(f"/api/providers/{org.provider['id']}", org.admin).status_code == 204
    assert api.get("/api/models", org.admin).json() == []
    eventually(lambda: chat(full_server.url, org.key["key"]).status_code == 404, within_s=2.0)


def test_ciphertext_at_rest_and_a_private_master_key(api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url, api_key=SECRET)
    data = full_server.workdir / ".bonito"
    time.sleep(0.3)
    blobs = b"".join(p.read_bytes() for p in data.iterdir() if p.name.startswith("bonito.db"))
    assert org.provider["id"].encode() in blobs  # we are looking at the right database
    assert SECRET.encode() not in blobs
    assert org.key["key"].encode() not in blobs  # gateway keys: hashes only
    assert org.admin.refresh.encode() not in blobs  # refresh tokens: hashes only
    assert b"correct horse battery staple" not in blobs  # passwords: argon2id only
    assert b"$argon2id$" in blobs
    mode = stat.S_IMODE(os.stat(data / "master.key").st_mode)
    assert mode == 0o600
    assert SECRET not in full_server.logs()
