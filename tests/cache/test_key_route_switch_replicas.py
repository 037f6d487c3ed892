"""The per-key and per-route cache switches on two full-mode replicas (one PostgreSQL, one Redis shared by
both): a switch flipped through either replica is followed by both, and the shared cache still serves the
keys and routes that use it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import openai
import pytest

from tests.control.helpers import Api, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.postgres import SKIP_REASON, PostgresServer, find_bin_dir
from tests.support.redis import RedisServer
from tests.support.server import BonitoServer

MASTER = "5eed" * 16
LIVE_S = 10.0  # the contract's 2 s, with room for a loaded machine


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BonitoServer, BonitoServer]]:
    if find_bin_dir() is None:
        pytest.fail(SKIP_REASON)  # a test that needs PostgreSQL fails without it
    pg = PostgresServer.start_new()
    try:
        with RedisServer(tmp_path_factory.mktemp("redis")) as redis:
            env = {"BONITO_DATABASE_URL": pg.create_database("bonito_cache_switch"), "BONITO_MASTER_KEY": MASTER,
                   "REDIS_URL": redis.url, "BONITO_CACHE": '{"exact": {"ttl_s": 600}}'}
            with BonitoServer(tmp_path_factory.mktemp("a"), env=env) as a, \
                    BonitoServer(tmp_path_factory.mktemp("b"), env=env) as b:
                yield a, b
    finally:
        pg.stop()


def _ask(srv: BonitoServer, key: str, text: str, model: str = "gpt-4o-mini") -> str:
    raw = srv.openai(key).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}])
    return raw.headers["x-bonito-cache"]


def test_switches_flipped_on_one_replica_are_followed_by_both(replicas: tuple[BonitoServer, BonitoServer],
                                                              fake: FakeOpenAI) -> None:
    a, b = replicas
    api_a, api_b = Api(a.url), Api(b.url)
    org = api_a.org_with_key(fake.url)
    key = org.key["key"]
    api_b.wait_key_live(key)
    text = f"How far is the Moon? {uuid.uuid4().hex}"
    assert (_ask(a, key, text), _ask(b, key, text)) == ("miss", "hit")  # one cache for both

    assert api_b.patch(f"/api/gateway/keys/{org.key['id']}", org.admin, {"cache": False}).json()["cache"] is False
    eventually(lambda: _ask(a, key, text) == "miss" and _ask(b, key, text) == "miss", within_s=LIVE_S)
    assert [_ask(s, key, text) for s in (a, b, a, b)] == ["miss"] * 4

    assert api_a.patch(f"/api/gateway/keys/{org.key['id']}", org.admin, {"cache": True}).json()["cache"] is True
    eventually(lambda: _ask(b, key, text) == "hit" and _ask(a, key, text) == "hit", within_s=LIVE_S)

    r = api_a.post("/api/routing-policies", org.admin, {"name": "live", "targets": [{"model": "gpt-4o-mini"}],
                                                          "cache": False})
    assert r.status_code == 201, r.text
    route_text = f"How far is Mars? {uuid.uuid4().hex}"

    def served_by_route(srv: BonitoServer) -> bool:
        try:
            return _ask(srv, key, "hi", "live") == "miss"
        except openai.NotFoundError:  # not served there yet
            return False

    eventually(lambda: served_by_route(a) and served_by_route(b), within_s=LIVE_S)
    assert [_ask(s, key, route_text, "live") for s in (a, b, a, b)] == ["miss"] * 4
    assert sum(1 for r in fake.requests if route_text in str(r.body)) == 4
    # the same question to the model itself is cached as usual, on both
    assert (_ask(b, key, route_text), _ask(a, key, route_text)) == ("miss", "hit")
    api_a.close()
    api_b.close()
