"""CONTRACT.md: "A change made through the API serves traffic within 2 seconds, on every replica, with no
restart" — replicas as separate processes on one PostgreSQL (BONITO_DATABASE_URL, one BONITO_MASTER_KEY), and
as `--workers 2` on the embedded SQLite; plus the PostgreSQL dump holds no plaintext secret."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.postgres import SKIP_REASON, PostgresServer, find_bin_dir
from tests.support.server import BonitoServer

SECRET = f"sk-replica-secret-{uuid.uuid4().hex[:10]}"
MASTER = "c0ffee" * 10 + "c0de"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    if find_bin_dir() is None:
        pytest.skip(SKIP_REASON)
    pg = PostgresServer.start_new()
    yield pg
    pg.stop()


@pytest.fixture(scope="module")
def replicas(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[BonitoServer]]:
    url = postgres.create_database("bonito_replicas")
    env = {"BONITO_DATABASE_URL": url, "BONITO_MASTER_KEY": MASTER}
    servers = [BonitoServer(tmp_path_factory.mktemp(f"replica-{n}"), env=env) for n in "ab"]
    try:
        for srv in servers:
            srv.start()
        yield servers
    finally:
        for srv in servers:
            srv.stop()


def _on_all(servers: list[BonitoServer], key: str, model: str, status: int) -> bool:
    return all(chat(s.url, key, model).status_code == status for s in servers)


def test_changes_through_either_replica_serve_on_both_within_two_seconds(
        replicas: list[BonitoServer], upstream: FakeOpenAI) -> None:
    a, b = Api(replicas[0].url), Api(replicas[1].url)
    org = a.org_with_key(upstream.url)
    key = org.key["key"]
    eventually(lambda: _on_all(replicas, key, "gpt-4o-mini", 200), within_s=2.0)
    # a token from one replica is good on the other; the refresh token is one family across both
    assert b.get("/api/auth/me", org.admin).status_code == 200
    refreshed = b.http.post("/api/auth/refresh", json={"refresh_token": org.admin.refresh})
    assert refreshed.status_code == 200
    assert a.http.post("/api/auth/refresh", json={"refresh_token": org.admin.refresh}).status_code == 401
    admin = org.admin

    # a model added on b serves on both; a routing policy added on a serves on both
    assert b.post("/api/models", admin, {"name": "second", "provider_id": org.provider["id"],
                                         "model": "gpt-4o"}).status_code == 201
    eventually(lambda: _on_all(replicas, key, "second", 200), within_s=2.0)
    policy = a.post("/api/routing-policies", admin, {"name": "both", "targets": [{"model": "second"}]})
    assert policy.status_code == 201
    eventually(lambda: _on_all(replicas, key, "both", 200), within_s=2.0)

    # credentials changed on b: both replicas use the new ones
    assert b.patch(f"/api/providers/{org.provider['id']}", admin, {"credentials": {
        "base_url": upstream.url, "api_key": SECRET}}).status_code == 200
    eventually(lambda: all(chat(s.url, key).status_code != 200 for s in replicas), within_s=2.0)
    assert a.patch(f"/api/providers/{org.provider['id']}", admin, {"credentials": {
        "base_url": upstream.url, "api_key": "sk-upstream"}}).status_code == 200
    eventually(lambda: _on_all(replicas, key, "gpt-4o-mini", 200), within_s=2.0)

    # a model deleted on a stops on both; a key revoked on b stops on both
    assert a.delete(f"/api/models/{org.model['id']}", admin).status_code == 204
    eventually(lambda: _on_all(replicas, key, "gpt-4o-mini", 404), within_s=2.0)
    assert b.delete(f"/api/gateway/keys/{org.key['id']}", admin).status_code == 204
    eventually(lambda: _on_all(replicas, key, "second", 401), within_s=2.0)
    a.close()
    b.close()


def test_the_postgresql_dump_holds_no_plaintext_secret(
        replicas: list[BonitoServer], postgres: PostgresServer, upstream: FakeOpenAI) -> None:
    api = Api(replicas[1].url)
    org = api.org_with_key(upstream.url, api_key=SECRET)
    az = api.post("/api/providers", org.admin, {"name": "az", "type": "azure", "credentials": {
        "endpoint": "http://127.0.0.1:9", "tenant_id": "t", "client_id": "c", "client_secret": SECRET + "-entra"}})
    assert az.status_code == 201
    route = api.post("/api/routing-policies", org.admin, {"name": "r", "targets": [{"model": "gpt-4o-mini"}],
                                                          "generate_key": True}).json()
    refreshed = api.http.post("/api/auth/refresh", json={"refresh_token": org.admin.refresh}).json()
    dump = subprocess.run([str(postgres.bin_dir / "pg_dump"), "-h", "127.0.0.1", "-p", str(postgres.port),
                           "-U", "bonito", "bonito_replicas"], capture_output=True, text=True, check=True).stdout
    assert org.provider["id"] in dump and "bnx1:" in dump and "$argon2id$" in dump
    for name, plaintext in {"credential": SECRET, "gateway key": org.key["key"], "route key": route["key"],
                            "refresh token": org.admin.refresh, "new refresh token": refreshed["refresh_token"],
                            "password": "correct horse battery staple"}.items():
        assert plaintext not in dump, name
    for srv in replicas:
        assert SECRET not in srv.logs() and org.key["key"] not in srv.logs()
    api.close()


def test_two_workers_on_sqlite_serve_a_change_within_two_seconds(tmp_path: Path, upstream: FakeOpenAI) -> None:
    with BonitoServer(tmp_path, workers=2) as srv:
        api = Api(srv.url)
        org = api.org_with_key(upstream.url)
        key = org.key["key"]

        def every_worker(status: int) -> bool:  # connections spread over the workers: ask many times
            with httpx.Client(base_url=srv.url, timeout=10) as c:
                return all(c.post("/v1/chat/completions", headers={"authorization": f"Bearer {key}",
                                                                   "connection": "close"},
                                  json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
                                  ).status_code == status for _ in range(12))

        eventually(lambda: every_worker(200), within_s=2.0)
        assert api.delete(f"/api/gateway/keys/{org.key['id']}", org.admin).status_code == 204
        eventually(lambda: every_worker(401), within_s=2.0)
        api.close()
