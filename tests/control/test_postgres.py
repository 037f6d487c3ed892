"""The control plane on a real PostgreSQL: the whole newcomer flow, and ciphertext in the dump."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.postgres import PostgresServer
from tests.support.server import BonitoServer

SECRET = "sk-postgres-secret-credential-9876"


@pytest.fixture(scope="module")
def pg_server(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    url = postgres.create_database("bonito_control")
    with BonitoServer(tmp_path_factory.mktemp("pg"), env={"BONITO_DATABASE_URL": url}) as srv:
        yield srv


def test_register_key_call_usage_csv_revoke_on_postgres(pg_server: BonitoServer, fake: FakeOpenAI) -> None:
    api = Api(pg_server.url)
    org = api.org_with_key(fake.url)
    key = org.key["key"]
    eventually(lambda: chat(pg_server.url, key).status_code == 200, within_s=2.0)
    rid = chat(pg_server.url, key, **{"x-request-id": "pg-flow-1"}).headers["x-request-id"]

    def logged() -> bool:
        return rid in {i["request_id"] for i in api.get("/api/gateway/logs", org.admin).json()["items"]}

    eventually(logged, within_s=10)
    usage = api.get("/api/gateway/usage", org.admin).json()
    assert usage["requests"] >= 2 and usage["total_tokens"] > 0 and usage["cost_usd"] > 0
    assert usage["latency_ms"]["p99"] is not None and usage["series"]
    rows = list(csv.DictReader(io.StringIO(api.get("/api/gateway/logs", org.admin, params={"format": "csv"}).text)))
    assert rid in {r["request_id"] for r in rows}
    assert api.get("/api/gateway/analytics", org.admin).status_code == 200
    assert api.delete(f"/api/gateway/keys/{org.key['id']}", org.admin).status_code == 204
    eventually(lambda: chat(pg_server.url, key).status_code == 401, within_s=2.0)
    api.close()


def test_auth_rotation_throttling_and_isolation_on_postgres(pg_server: BonitoServer, fake: FakeOpenAI) -> None:
    api = Api(pg_server.url)
    a = api.org_with_key(fake.url)
    b = api.register()
    new = api.http.post("/api/auth/refresh", json={"refresh_token": a.admin.refresh})
    assert new.status_code == 200
    assert api.http.post("/api/auth/refresh", json={"refresh_token": a.admin.refresh}).status_code == 401
    assert api.get(f"/api/providers/{a.provider['id']}", b).status_code == 404
    assert api.delete(f"/api/gateway/keys/{a.key['id']}", b).status_code == 404
    for _ in range(5):
        api.login(b.email, "wrong password!")
    assert api.login(b.email).status_code == 429
    api.close()


def test_plaintext_credentials_are_not_in_the_dump(pg_server: BonitoServer, postgres: PostgresServer,
                                                   fake: FakeOpenAI, tmp_path: Path) -> None:
    api = Api(pg_server.url)
    org = api.org_with_key(fake.url, api_key=SECRET)
    dump = subprocess.run([str(postgres.bin_dir / "pg_dump"), "-h", "127.0.0.1", "-p", str(postgres.port),
                           "-U", "bonito", "bonito_control"], capture_output=True, text=True, check=True).stdout
    assert org.provider["id"] in dump and "bnx1:" in dump
    assert SECRET not in dump
    assert org.key["key"] not in dump and org.admin.refresh not in dump
    api.close()
