"""CONTRACT.md, "Cache": with `redis_url` set, every replica shares the cache (a real redis-server), still per org;
while Redis is down the cache answers as a miss and requests are served."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY, basic_config
from tests.support.redis import RedisServer
from tests.support.server import BonitoServer

OTHER_ORG_KEY = "bn-replica-other-org-01"


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:  # fails, never skips, without redis-server
        yield server


@pytest.fixture(scope="module")
def replicas(upstream: FakeOpenAI, redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[BonitoServer, BonitoServer]]:
    extra = (f"  - name: other-org\n    key: {OTHER_ORG_KEY}\n    org: other\n"
             f"redis_url: {redis.url}\ncache:\n  exact: {{ttl_s: 600}}\n")
    config = basic_config(upstream.url, extra=extra)
    with BonitoServer(tmp_path_factory.mktemp("a"), config) as a, BonitoServer(tmp_path_factory.mktemp("b"), config) as b:
        yield a, b


def _ask(srv: BonitoServer, text: str, key: str = KEY, stream: bool = False) -> str:
    raw = srv.openai(key).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=stream)
    if stream:
        list(raw.parse())
    return raw.headers["x-bonito-cache"]


def test_an_answer_stored_by_one_replica_is_served_by_the_other(replicas: tuple[BonitoServer, BonitoServer],
                                                                fake: FakeOpenAI) -> None:
    a, b = replicas
    text = f"Name three primary colours. {uuid.uuid4().hex}"
    assert _ask(a, text) == "miss"
    assert _ask(b, text) == "hit"
    assert _ask(b, text, stream=True) == "hit"
    streamed = f"Spell cat backwards. {uuid.uuid4().hex}"
    assert _ask(b, streamed, stream=True) == "miss"
    assert _ask(a, streamed) == "hit"
    assert sum(1 for r in fake.requests if r.path == "/v1/chat/completions") == 2


def test_replicas_keep_orgs_apart(replicas: tuple[BonitoServer, BonitoServer], fake: FakeOpenAI) -> None:
    a, b = replicas
    text = f"What colour is the sky? {uuid.uuid4().hex}"
    assert _ask(a, text) == "miss"
    assert _ask(b, text, key=OTHER_ORG_KEY) == "miss"
    assert _ask(a, text, key=OTHER_ORG_KEY) == "hit"


def test_redis_down_means_misses_not_failures(upstream: FakeOpenAI, fake: FakeOpenAI, tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis") as redis:
        config = basic_config(upstream.url, extra=f"redis_url: {redis.url}\ncache:\n  exact: {{ttl_s: 600}}\n")
        with BonitoServer(tmp_path / "srv", config) as srv:
            text = f"Is water wet? {uuid.uuid4().hex}"
            assert _ask(srv, text) == "miss"
            assert _ask(srv, text) == "hit"
            redis.kill()
            assert _ask(srv, text) == "miss"  # served from the upstream, not refused
            redis.start()  # empty again: the next answer is stored anew, and served once it is
            deadline = time.monotonic() + 10
            while _ask(srv, text) != "hit":
                assert time.monotonic() < deadline, "the cache did not recover within 10 s of Redis's return"
                time.sleep(0.2)
