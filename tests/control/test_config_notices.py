"""Two replicas on one database learn of a change by notice, not by polling for it.

Both polls are set to 60 s where a notice is under test, so a change that reaches the other replica
in seconds got there by the notice (Redis pub/sub; PostgreSQL LISTEN/NOTIFY without Redis). With
Redis killed the replicas poll again (fast, as without notices: 0.5 s by default) and serve every
request without an error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.server import BonitoServer

FALLBACK_S = 60.0
NOTICE_WITHIN_S = 10.0  # far below the fallback poll, generous for a loaded machine
MASTER_KEY = "0" * 64


def _replicas(tmp: Path, env: dict[str, str]) -> list[BonitoServer]:
    env = {"BONITO_MASTER_KEY": MASTER_KEY, "BONITO_CONFIG_FALLBACK_POLL_S": str(FALLBACK_S), **env}
    first = BonitoServer(tmp / "a", env=env).start()  # migrates the shared store before the second starts
    try:
        second = BonitoServer(tmp / "b", env=env).start()
    except Exception:
        first.stop()
        raise
    return [first, second]


def _served_within(server: BonitoServer, key: str, within_s: float) -> float:
    models = lambda: httpx.get(server.url + "/v1/models", headers={"authorization": f"Bearer {key}"},  # noqa: E731
                               timeout=10).status_code == 200
    return eventually(models, within_s)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.kill()


def _on_sqlite(tmp_path: Path, redis: RedisServer, **env: str) -> Iterator[list[BonitoServer]]:
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    servers = _replicas(tmp_path, {"BONITO_DATABASE_URL": db, "REDIS_URL": redis.url, **env})
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture
def notice_only(tmp_path: Path, redis: RedisServer) -> Iterator[list[BonitoServer]]:
    """No poll within the test's time: only a notice can carry a change."""
    yield from _on_sqlite(tmp_path, redis, BONITO_CONFIG_POLL_S=str(FALLBACK_S))


@pytest.fixture
def on_sqlite(tmp_path: Path, redis: RedisServer) -> Iterator[list[BonitoServer]]:
    yield from _on_sqlite(tmp_path, redis)


def test_a_key_made_on_one_replica_is_served_by_the_other_by_notice(
        notice_only: list[BonitoServer], upstream: FakeOpenAI) -> None:
    a, b = notice_only
    api = Api(a.url)
    org = api.org_with_key(upstream.url)  # waits until replica A serves the key
    _served_within(b, org.key["key"], NOTICE_WITHIN_S)
    assert chat(b.url, org.key["key"]).status_code == 200
    # another org's key on B cannot reach the first org's model: names stay per org
    other = api.org_with_key(upstream.url, model_name="other-model")
    _served_within(b, other.key["key"], NOTICE_WITHIN_S)
    refused = chat(b.url, other.key["key"], model="gpt-4o-mini")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "model_not_found"
    # a revoked key stops on B as quickly
    assert api.delete(f"/api/gateway/keys/{org.key['id']}", org.admin).status_code == 204
    eventually(lambda: chat(b.url, org.key["key"]).status_code == 401, NOTICE_WITHIN_S)
    api.close()


def test_redis_dying_falls_back_to_polling_without_errors(
        on_sqlite: list[BonitoServer], redis: RedisServer, upstream: FakeOpenAI) -> None:
    a, b = on_sqlite
    api = Api(a.url)
    org = api.org_with_key(upstream.url)
    _served_within(b, org.key["key"], NOTICE_WITHIN_S)
    redis.kill()
    statuses = [chat(b.url, org.key["key"]).status_code for _ in range(5)]
    assert statuses == [200] * 5  # limits fail open by default; nothing else needs Redis to serve
    key = api.post("/api/gateway/keys", org.admin, {"name": "after-redis"})
    assert key.status_code == 201, key.text
    started = time.monotonic()
    _served_within(b, key.json()["key"], NOTICE_WITHIN_S)  # by polling: Redis is gone
    assert time.monotonic() - started < FALLBACK_S
    assert chat(b.url, key.json()["key"]).status_code == 200
    assert "Traceback" not in b.logs()
    api.close()


def test_a_key_expires_on_time_although_the_version_is_read_only_every_minute(
        on_sqlite: list[BonitoServer], upstream: FakeOpenAI) -> None:
    a, b = on_sqlite
    api = Api(a.url)
    org = api.org_with_key(upstream.url)
    expires = datetime.now(UTC) + timedelta(seconds=6)
    key = api.post("/api/gateway/keys", org.admin, {"name": "short-lived", "expires_at": expires.isoformat()})
    assert key.status_code == 201, key.text
    _served_within(b, key.json()["key"], NOTICE_WITHIN_S)
    eventually(lambda: chat(b.url, key.json()["key"]).status_code == 401, 20.0)
    assert datetime.now(UTC) - expires < timedelta(seconds=FALLBACK_S / 4)  # not at the next fallback poll
    api.close()


def test_postgres_without_redis_notifies_by_listen(tmp_path: Path, upstream: FakeOpenAI) -> None:
    pg = PostgresServer.start_new()
    try:
        servers = _replicas(tmp_path, {"BONITO_DATABASE_URL": pg.create_database("notices"),
                                       "BONITO_CONFIG_POLL_S": str(FALLBACK_S)})
        try:
            a, b = servers
            api = Api(a.url)
            org = api.org_with_key(upstream.url)
            _served_within(b, org.key["key"], NOTICE_WITHIN_S)
            assert chat(b.url, org.key["key"]).status_code == 200
            api.close()
        finally:
            for s in servers:
                s.stop()
    finally:
        pg.stop()
