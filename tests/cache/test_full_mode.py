"""CONTRACT.md, "Cache", in full mode: BONITO_CACHE turns it on, an org may turn it off for itself, and hits
show in /api/gateway/logs, the CSV export and the analytics' savings."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai

from tests.control.helpers import Api, Org, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

MODEL = "house-chat"


def _client(server: BonitoServer, org: Org) -> openai.OpenAI:
    return server.openai(org.key["key"])


def _ask(client: openai.OpenAI, text: str, rid: str | None = None) -> tuple[httpx.Headers, Any]:
    headers = {"x-request-id": rid} if rid else {}
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": text}], extra_headers=headers)
    return raw.headers, raw.parse()


def _ready(server: BonitoServer, org: Org) -> None:
    eventually(lambda: httpx.post(f"{server.url}/v1/chat/completions",
                                  headers={"authorization": f"Bearer {org.key['key']}", "cache-control": "no-store"},
                                  json={"model": MODEL, "messages": [{"role": "user", "content": "warm up"}]},
                                  timeout=30).status_code == 200, within_s=5.0)


def test_hits_are_in_logs_csv_and_analytics(api: Api, server: BonitoServer, upstream: FakeOpenAI) -> None:
    org = api.org_with_key(upstream.url, model_name=MODEL)
    _ready(server, org)
    text = f"How tall is Mount Everest? {uuid.uuid4().hex}"
    tag = uuid.uuid4().hex[:8]
    h1, _ = _ask(_client(server, org), text, f"full-miss-{tag}")
    h2, _ = _ask(_client(server, org), text, f"full-hit-{tag}")
    assert (h1["x-bonito-cache"], h2["x-bonito-cache"]) == ("miss", "hit")

    def logged() -> dict[str, dict[str, Any]]:
        items = api.get("/api/gateway/logs", org.admin).json()["items"]
        return {i["request_id"]: i for i in items if i["request_id"].endswith(tag)}

    eventually(lambda: len(logged()) == 2, within_s=10)
    items = logged()
    miss, hit = items[f"full-miss-{tag}"], items[f"full-hit-{tag}"]
    assert miss["cache"] is None and Decimal(miss["cost_usd"]) > 0
    assert hit["cache"] == "hit" and Decimal(hit["cost_usd"]) == 0

    r = api.get("/api/gateway/logs", org.admin, params={"format": "csv"})
    rows = {row["request_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert rows[f"full-hit-{tag}"]["cache"] == "hit" and rows[f"full-miss-{tag}"]["cache"] == ""

    body = api.get("/api/gateway/analytics", org.admin).json()
    assert body["cache"]["hits"] == 1 and body["cache"]["semantic_hits"] == 0
    assert Decimal(body["cache"]["saved_usd"]) == Decimal(miss["cost_usd"])
    assert 0 < body["cache"]["hit_rate"] < 1


def test_an_org_turns_the_cache_off_for_itself_only(api: Api, server: BonitoServer, upstream: FakeOpenAI) -> None:
    quiet, other = api.org_with_key(upstream.url, model_name=MODEL), api.org_with_key(upstream.url, model_name=MODEL)
    _ready(server, quiet)
    _ready(server, other)
    assert api.get("/api/gateway/config", quiet.admin).json()["cache"] is True
    r = api.http.put("/api/gateway/config", json={"cache": False}, headers=quiet.admin.headers)
    assert r.status_code == 200 and r.json()["cache"] is False
    text = f"What is two plus two? {uuid.uuid4().hex}"

    def uncached() -> bool:
        h, _ = _ask(_client(server, quiet), text)
        return "x-bonito-cache" not in h

    eventually(uncached, within_s=2.5)
    h, _ = _ask(_client(server, quiet), text)
    assert "x-bonito-cache" not in h  # off: no hit, no header
    _ask(_client(server, other), text)
    h, _ = _ask(_client(server, other), text)
    assert h["x-bonito-cache"] == "hit"  # the other org keeps its cache


def test_a_bad_config_value_names_the_field(api: Api, server: BonitoServer) -> None:
    admin = api.register()
    r = api.http.put("/api/gateway/config", json={"cache": "sometimes"}, headers=admin.headers)
    assert r.status_code == 422 and "cache" in r.text


def test_an_invalid_bonito_cache_stops_the_server_naming_the_field(tmp_path: Path) -> None:
    env = {**os.environ, "BONITO_CACHE": '{"exact": {"ttl_s": -1}}'}
    done = subprocess.run([sys.executable, "-m", "bonito", "serve", "--port", "1"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cache.exact.ttl_s" in done.stderr
