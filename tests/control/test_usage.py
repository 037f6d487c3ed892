"""Usage recorded by the gateway appears in /api/gateway/usage, /logs (JSON and CSV) and /analytics."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from tests.control.helpers import Api, Org, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


def _org_with_traffic(api: Api, url: str, fake: FakeOpenAI, n: int) -> tuple[Org, list[str]]:
    org = api.org_with_key(fake.url)
    eventually(lambda: chat(url, org.key["key"], "no-such-model").status_code == 404, within_s=2.0)
    ids = []
    for i in range(n):
        r = chat(url, org.key["key"], **{"x-request-id": f"usage-test-{org.admin.org_id[-8:]}-{i}"})
        assert r.status_code == 200
        ids.append(r.headers["x-request-id"])
    return org, ids


def _logs(api: Api, org: Org, **params: Any) -> dict[str, Any]:
    r = api.get("/api/gateway/logs", org.admin, params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_usage_logs_and_csv_show_the_gateways_requests(api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org, ids = _org_with_traffic(api, full_server.url, fake, 3)
    # 3 successes + the 404 probe(s)
    eventually(lambda: len([i for i in _logs(api, org, limit=100)["items"] if i["status"] == 200]) == 3,
               within_s=10)
    usage = api.get("/api/gateway/usage", org.admin).json()
    ok_rows = next(m for m in usage["by_model"] if m["model"] == "gpt-4o-mini")
    assert ok_rows["requests"] == 3 and ok_rows["completion_tokens"] == 3 * len(fake.reply.split())
    assert usage["requests"] >= 3 and usage["total_tokens"] == ok_rows["total_tokens"]
    expected = (Decimal(ok_rows["prompt_tokens"]) * Decimal("0.15") + Decimal(ok_rows["completion_tokens"])
                * Decimal("0.60")) / Decimal(10**6)
    assert Decimal(ok_rows["cost_usd_exact"]) == expected
    assert usage["error_rate"] > 0 and usage["errors"] >= 1  # the 404 probes
    assert set(usage["latency_ms"]) >= {"p50", "p95", "p99"}
    assert usage["series"] and usage["by_key"][0]["key_id"] == org.key["id"]
    assert usage["by_provider"][0]["provider_id"] == org.provider["id"]

    items = [i for i in _logs(api, org)["items"] if i["status"] == 200]
    assert sorted(i["request_id"] for i in items) == sorted(ids)
    assert all(i["model"] == "gpt-4o-mini" and i["key_id"] == org.key["id"] for i in items)

    r = api.get("/api/gateway/logs", org.admin, params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {"request_id", "model", "prompt_tokens", "completion_tokens", "cost_usd"} <= set(rows[0])
    assert set(ids) <= {row["request_id"] for row in rows}
    assert org.key["key"] not in r.text


def test_logs_page_with_a_cursor_and_filter(api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org, ids = _org_with_traffic(api, full_server.url, fake, 5)
    eventually(lambda: len(_logs(api, org, status="200")["items"]) == 5, within_s=10)
    seen: list[str] = []
    page = _logs(api, org, limit=2, status="200")
    while True:
        assert len(page["items"]) <= 2
        seen += [i["request_id"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        page = _logs(api, org, limit=2, status="200", cursor=page["next_cursor"])
    assert sorted(seen) == sorted(ids)
    assert _logs(api, org, key_id="key_does_not_exist")["items"] == []
    assert len(_logs(api, org, key_id=org.key["id"], status="error")["items"]) >= 1
    assert api.get("/api/gateway/logs", org.admin, params={"cursor": "garbage!"}).status_code in (400, 422)


def test_csv_export_has_no_row_cap(api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org, ids = _org_with_traffic(api, full_server.url, fake, 25)
    eventually(lambda: len(_logs(api, org, status="200", limit=100)["items"]) == 25, within_s=10)
    # the export pages internally; every record of the window comes out
    r = api.get("/api/gateway/logs", org.admin, params={"format": "csv", "status": "200", "limit": 1})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(row["request_id"] for row in rows) == sorted(ids)


def test_analytics_answers(api: Api, full_server: BonitoServer, fake: FakeOpenAI) -> None:
    org, _ = _org_with_traffic(api, full_server.url, fake, 1)
    r = api.get("/api/gateway/analytics", org.admin)
    assert r.status_code == 200
    assert {"by_status", "by_model", "series", "requests"} <= set(r.json())


def test_a_window_in_the_past_is_empty_and_bad_windows_are_422(api: Api) -> None:
    admin = api.register()
    r = api.get("/api/gateway/usage", admin, params={"start": "2001-01-01T00:00:00Z", "end": "2001-01-02T00:00:00Z"})
    assert r.status_code == 200 and r.json()["requests"] == 0
    r = api.get("/api/gateway/usage", admin, params={"start": "2001-01-02T00:00:00Z", "end": "2001-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "end"
    assert api.get("/api/gateway/usage", admin, params={"start": "yesterday"}).status_code == 422
