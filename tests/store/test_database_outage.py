"""CONTRACT: while the database is down the gateway serves; usage waits and is written on return,
none lost, none twice — also across a SIGTERM and a restart in the same directory."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY, basic_config
from tests.support.postgres import USER, PostgresServer
from tests.support.server import BonitoServer


def _count(pg: PostgresServer, db: str, prefix: str) -> int:
    async def q() -> int:
        conn = await asyncpg.connect(host="127.0.0.1", port=pg.port, user=USER, database=db)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM usage_records WHERE request_id LIKE $1",
                                           prefix + "%"))
        finally:
            await conn.close()

    return asyncio.run(q())


def _wait_count(pg: PostgresServer, db: str, prefix: str, n: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    got = -1
    while time.monotonic() < deadline:
        try:
            got = _count(pg, db, prefix)
        except (OSError, asyncpg.PostgresError):
            got = -1
        if got >= n:
            break
        time.sleep(0.5)
    return got


def _chat(srv: BonitoServer, rid: str) -> httpx.Response:
    return httpx.post(srv.url + "/v1/chat/completions", timeout=10,
                      headers={"Authorization": f"Bearer {KEY}", "x-request-id": rid},
                      json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})


def test_gateway_serves_through_outage_and_writes_usage_on_return(
    pg: PostgresServer, tmp_path: Path, fake: FakeOpenAI
) -> None:
    url = pg.create_database("outage_live")
    with BonitoServer(tmp_path, basic_config(fake.url), env={"BONITO_DATABASE_URL": url}) as srv:
        assert _chat(srv, "live-before").status_code == 200
        assert _wait_count(pg, "outage_live", "live-before", 1, 10) == 1
        pg.pause()
        try:
            for i in range(5):
                assert _chat(srv, f"live-during-{i}").status_code == 200
            assert httpx.get(srv.url + "/health").status_code == 200
            ready = httpx.get(srv.url + "/health/ready")
            assert ready.status_code == 200 and ready.json()["database"] == "down"
        finally:
            pg.resume()
        assert _wait_count(pg, "outage_live", "live-during-", 5, 60) == 5
        assert httpx.get(srv.url + "/health/ready").json()["database"] == "ok"
    time.sleep(0.5)
    assert _count(pg, "outage_live", "live-") == 6  # none twice


def test_sigterm_during_outage_spools_and_restart_writes(
    pg: PostgresServer, tmp_path: Path, fake: FakeOpenAI
) -> None:
    url = pg.create_database("outage_spool")
    srv = BonitoServer(tmp_path, basic_config(fake.url), env={"BONITO_DATABASE_URL": url}).start()
    assert _chat(srv, "warm").status_code == 200
    pg.pause()
    try:
        for i in range(4):
            assert _chat(srv, f"spool-{i}").status_code == 200
        started = time.monotonic()
        assert srv.stop() == 0
        assert time.monotonic() - started < 30
        assert list((tmp_path / ".bonito" / "spool").glob("usage-*.jsonl")), "pending records were not spooled"
    finally:
        pg.resume()
    with BonitoServer(tmp_path, basic_config(fake.url), env={"BONITO_DATABASE_URL": url}):
        assert _wait_count(pg, "outage_spool", "spool-", 4, 60) == 4
    assert _count(pg, "outage_spool", "spool-") == 4
