"""CONTRACT.md, "Control plane API": /api/gateway/usage, /logs (JSON pages and CSV) and /analytics over real
gateway traffic: every record exactly once, its x-request-id and public model name, no CSV row cap."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bonito.store.db import make_engine
from bonito.store.usage import insert_usage
from bonito.usage.record import UsageRecord
from tests.control.helpers import Api, Org, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

PUBLIC_NAME = "house-chat"  # the public name differs from the upstream id (gpt-4o-mini)
TRAFFIC = 1100


@pytest.fixture(scope="module")
def busy(api: Api, server: BonitoServer, upstream: FakeOpenAI) -> tuple[Org, list[str]]:
    """An org whose key made TRAFFIC requests, each with its own x-request-id."""
    org = api.org_with_key(upstream.url, model_name=PUBLIC_NAME,
                           key_body={"name": "busy", "requests_per_minute": 1_000_000})
    key = org.key["key"]
    eventually(lambda: chat(server.url, key, PUBLIC_NAME).status_code == 200, within_s=2.0)
    tag = uuid.uuid4().hex[:8]
    ids = [f"busy-{tag}-{i}" for i in range(TRAFFIC - 1)]

    def send(chunk: list[str]) -> list[str]:
        out = []
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for rid in chunk:
                r = client.post("/v1/chat/completions", headers={"authorization": f"Bearer {key}",
                                                                 "x-request-id": rid},
                                json={"model": PUBLIC_NAME, "messages": [{"role": "user", "content": "hi"}]})
                assert r.status_code == 200, r.text
                out.append(r.headers["x-request-id"])
        return out

    with ThreadPoolExecutor(6) as pool:
        sent = [rid for part in pool.map(send, [ids[i::6] for i in range(6)]) for rid in part]
    assert sorted(sent) == sorted(ids)  # the gateway echoed every client id
    return org, ids


def _page_all(api: Api, org: Org, limit: int, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10_000):
        q = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        r = api.get("/api/gateway/logs", org.admin, params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) >= {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert isinstance(cursor, str) and cursor
    raise AssertionError("the listing never ended")


def test_a_request_appears_in_usage_logs_and_csv_within_ten_seconds(
        api: Api, server: BonitoServer, upstream: FakeOpenAI) -> None:
    org = api.org_with_key(upstream.url, model_name="alias-model")
    eventually(lambda: chat(server.url, org.key["key"], "alias-model").status_code == 200, within_s=2.0)
    rid = f"appears-{uuid.uuid4().hex}"
    sent = time.monotonic()
    assert chat(server.url, org.key["key"], "alias-model", **{"x-request-id": rid}).status_code == 200

    def everywhere() -> bool:
        logs = api.get("/api/gateway/logs", org.admin).json()["items"]
        csv_text = api.get("/api/gateway/logs", org.admin, params={"format": "csv"}).text
        return rid in {i["request_id"] for i in logs} and rid in csv_text

    eventually(everywhere, within_s=10)
    assert time.monotonic() - sent < 10
    usage = api.get("/api/gateway/usage", org.admin)
    assert usage.status_code == 200
    body = usage.json()
    assert body["requests"] >= 2 and body["total_tokens"] > 0 and float(body["cost_usd"]) > 0
    item = next(i for i in api.get("/api/gateway/logs", org.admin).json()["items"] if i["request_id"] == rid)
    assert item["model"] == "alias-model"
    analytics = api.get("/api/gateway/analytics", org.admin)
    assert analytics.status_code == 200 and analytics.json()["requests"] >= 2


def test_json_pages_cover_every_record_exactly_once(api: Api, busy: tuple[Org, list[str]]) -> None:
    org, ids = busy
    eventually(lambda: api.get("/api/gateway/usage", org.admin).json()["requests"] >= TRAFFIC, within_s=10)
    items = _page_all(api, org, limit=97)
    got = [i["request_id"] for i in items]
    assert len(got) == len(set(got)) == TRAFFIC - 1 + 1  # the probe request too
    assert set(ids) <= set(got)
    assert {i["model"] for i in items} == {PUBLIC_NAME}
    assert len({i["id"] for i in items}) == len(items)
    one = _page_all(api, org, limit=1000)
    assert sorted(i["id"] for i in one) == sorted(i["id"] for i in items)


def test_usage_default_window_counts_requests_tokens_and_cost(api: Api, busy: tuple[Org, list[str]]) -> None:
    org, _ = busy
    body = api.get("/api/gateway/usage", org.admin).json()
    assert body["requests"] == TRAFFIC
    assert body["total_tokens"] == body["prompt_tokens"] + body["completion_tokens"] > 0
    assert float(body["cost_usd"]) > 0
    start = datetime.fromisoformat(body["window"]["start"].replace("Z", "+00:00"))
    assert start <= datetime.now(UTC) - timedelta(hours=24) + timedelta(seconds=30)


def test_csv_export_streams_every_record_with_a_header_and_no_row_cap(api: Api, busy: tuple[Org, list[str]]) -> None:
    org, ids = busy
    with api.http.stream("GET", "/api/gateway/logs", params={"format": "csv"}, headers=org.admin.headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        text = b"".join(r.iter_bytes()).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {"request_id", "model"} <= set(rows[0])
    got = [row["request_id"] for row in rows]
    assert len(got) == len(set(got)) == TRAFFIC and set(ids) <= set(got)
    assert {row["model"] for row in rows} == {PUBLIC_NAME}
    assert org.key["key"] not in text


def test_records_sharing_a_timestamp_page_and_export_exactly_once(api: Api, server: BonitoServer) -> None:
    """Keyset paging must break ties: 2500 records written in one instant (more than one export batch)."""
    admin = api.register()
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=123456)
    records = [UsageRecord(request_id=f"tie-{i}", org_id=admin.org_id, key_id="key_x", key_name="x",
                           model_requested="tie-model", model_used="tie-model", provider="prv_x", upstream_model="up",
                           prompt_tokens=1, completion_tokens=2, cost_usd=Decimal("0.000000001"), latency_ms=1.5,
                           attempts=1, created_at=stamp)
               for i in range(2500)]

    async def write() -> None:  # through the usage writer's own insert (it keeps the rollups per batch)
        engine = make_engine(f"sqlite+aiosqlite:///{server.workdir / '.bonito' / 'bonito.db'}")
        try:
            for i in range(0, len(records), 1000):
                await insert_usage(engine, records[i:i + 1000])
        finally:
            await engine.dispose()

    asyncio.run(write())
    org = Org(admin, {}, {}, {})
    got = [i["request_id"] for i in _page_all(api, org, limit=333)]
    assert len(got) == len(set(got)) == 2500
    text = api.get("/api/gateway/logs", admin, params={"format": "csv"}).text
    exported = [row["request_id"] for row in csv.DictReader(io.StringIO(text))]
    assert len(exported) == len(set(exported)) == 2500
    assert api.get("/api/gateway/usage", admin).json()["requests"] == 2500
