"""Through a real `bonito serve --config` with the official openai SDK: what a call with cached tokens costs,
tags from the key and the request on its usage record, usage grouped and filtered by tag, the CSV, and a
key budget scoped to one tag value refusing only the requests that carry it."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from tests.control.helpers import eventually
from tests.costs.conftest import DATA_KEY, OTHER_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

HELLO = [{"role": "user", "content": "hello there"}]  # the fake counts 2 words + 7 = 9 prompt tokens


def logs(srv: BonitoServer, token: str, **params: str) -> list[dict[str, Any]]:
    r = httpx.get(srv.url + "/api/gateway/logs", params={"limit": "1000", **params},
                  headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def record_of(srv: BonitoServer, token: str, request_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = [i for i in logs(srv, token) if i["request_id"] == request_id]
        return bool(found)

    eventually(logged, within_s=10)
    return found[0]


def test_cached_tokens_are_billed_at_the_cached_rate_json_and_stream(
        tagged_server: BonitoServer, admin_token: str, fake: FakeOpenAI) -> None:
    fake.cached_tokens = 4
    client = tagged_server.openai(DATA_KEY)
    plain = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HELLO,
                                                            extra_headers={"x-request-id": "cost-cached-json"})
    assert plain.parse().usage.prompt_tokens_details.cached_tokens == 4
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True,
                                            stream_options={"include_usage": True},
                                            extra_headers={"x-request-id": "cost-cached-stream"})
    usage = next(c.usage for c in stream if c.usage)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 4
    for rid in ("cost-cached-json", "cost-cached-stream"):
        rec = record_of(tagged_server, admin_token, rid)
        # 9 prompt tokens, 4 of them cached, 5 completion: 5×0.15 + 4×0.075 + 5×0.60 = 0.75 + 0.3 + 3 = 4.05 µ$
        assert (rec["prompt_tokens"], rec["cached_tokens"], rec["cache_write_tokens"], rec["completion_tokens"]) \
            == (9, 4, 0, 5)
        assert Decimal(rec["cost_usd"]) == Decimal("0.00000405")


def test_tags_come_from_the_key_and_the_request_and_only_listed_keys_are_kept(
        tagged_server: BonitoServer, admin_token: str, fake: FakeOpenAI) -> None:
    data = tagged_server.openai(DATA_KEY)
    data.chat.completions.create(model="gpt-4o-mini", messages=HELLO, metadata={"project": "atlas", "env": "prod"},
                                 extra_headers={"x-request-id": "tag-body"})
    data.chat.completions.create(model="gpt-4o-mini", messages=HELLO,
                                 extra_headers={"x-request-id": "tag-header",
                                                "x-bonito-metadata": json.dumps({"team": "ml", "user": "u1"})})
    tagged_server.openai(OTHER_KEY).chat.completions.create(model="gpt-4o-mini", messages=HELLO,
                                                            extra_headers={"x-request-id": "tag-none"})
    assert record_of(tagged_server, admin_token, "tag-body")["tags"] == {"team": "data", "project": "atlas"}
    assert record_of(tagged_server, admin_token, "tag-header")["tags"] == {"team": "ml"}  # the request wins
    assert record_of(tagged_server, admin_token, "tag-none")["tags"] == {}


def test_a_malformed_metadata_header_is_a_400_naming_it(tagged_server: BonitoServer) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        tagged_server.openai(DATA_KEY).chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, extra_headers={"x-bonito-metadata": "[1, 2]"})
    assert err.value.status_code == 400
    assert err.value.body["param"] == "x-bonito-metadata"  # type: ignore[index]


def test_usage_groups_and_filters_by_tag_and_the_csv_carries_tags(
        tagged_server: BonitoServer, admin_token: str, fake: FakeOpenAI) -> None:
    client = tagged_server.openai(OTHER_KEY)
    for team in ("finance", "finance", "legal"):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, metadata={"team": team},
                                       extra_headers={"x-request-id": f"group-{team}"})
    auth = {"authorization": f"Bearer {admin_token}"}
    record_of(tagged_server, admin_token, "group-legal")

    def by_team() -> dict[Any, dict[str, Any]]:
        r = httpx.get(tagged_server.url + "/api/gateway/usage", params={"group_by": "tag:team"}, headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["group_by"] == "tag:team"
        return {row["value"]: row for row in r.json()["by_tag"]}

    eventually(lambda: by_team().get("finance", {}).get("requests") == 2, within_s=10)
    groups = by_team()
    assert groups["finance"]["tag"] == "team"
    # each call: 9 prompt, 5 completion tokens of gpt-4o-mini = 9×0.15 + 5×0.6 = 4.35 µ$
    assert Decimal(groups["finance"]["cost_usd_exact"]) == Decimal("0.0000087")
    assert groups["legal"]["requests"] == 1

    analytics = httpx.get(tagged_server.url + "/api/gateway/analytics", params={"group_by": "tag:team"},
                          headers=auth).json()
    assert {row["value"]: row["requests"] for row in analytics["by_tag"]}["finance"] == 2
    r = httpx.get(tagged_server.url + "/api/gateway/usage", params={"tag.team": "finance"}, headers=auth)
    assert r.status_code == 200 and r.json()["requests"] == 2
    r = httpx.get(tagged_server.url + "/api/gateway/usage", params={"tag.team": "nobody"}, headers=auth)
    assert r.json()["requests"] == 0

    r = httpx.get(tagged_server.url + "/api/gateway/logs", params={"format": "csv", "tag.team": "finance"},
                  headers=auth)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 2
    assert {"cached_tokens", "cache_write_tokens", "reasoning_tokens", "tags"} <= set(rows[0])
    assert json.loads(rows[0]["tags"]) == {"team": "finance"}

    bad = httpx.get(tagged_server.url + "/api/gateway/usage", params={"group_by": "tag:"}, headers=auth)
    assert bad.status_code == 422 and "group_by" in bad.text
    bad = httpx.get(tagged_server.url + "/api/gateway/usage", params={"tag.bad key": "x"}, headers=auth)
    assert bad.status_code == 422 and "tag.bad key" in bad.text


def test_a_tag_budget_refuses_only_requests_carrying_that_tag(
        tagged_server: BonitoServer, admin_token: str, fake: FakeOpenAI) -> None:
    client = tagged_server.openai(DATA_KEY)
    hi = [{"role": "user", "content": "hi"}]  # 8 prompt tokens × $250,000 per million = $2.00 a call
    for _ in range(2):  # $2 spent: under the $3 budget; then $4
        client.chat.completions.create(model="pricey", messages=hi, metadata={"project": "atlas"})
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="pricey", messages=hi, metadata={"project": "atlas"})
    assert err.value.status_code == 429
    assert err.value.code == "budget_exceeded"
    # the same key's other projects, and its untagged calls, are not counted against it
    for meta in ({"project": "zeus"}, None):
        ok = client.chat.completions.with_raw_response.create(model="pricey", messages=hi,
                                                             **({"metadata": meta} if meta else {}))
        assert ok.http_response.status_code == 200


def test_costs_are_served_in_config_mode_for_the_default_org(tagged_server: BonitoServer, admin_token: str,
                                                             fake: FakeOpenAI) -> None:
    tagged_server.openai(DATA_KEY).chat.completions.create(model="gpt-4o-mini", messages=HELLO,
                                                           extra_headers={"x-request-id": "config-costs"})
    record_of(tagged_server, admin_token, "config-costs")
    auth = {"authorization": f"Bearer {admin_token}"}
    r = httpx.get(tagged_server.url + "/api/costs/forecast", params={"group_by": "tag:team"}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["month_to_date_usd"] > 0 and body["projected_usd"] >= body["month_to_date_usd"]
    assert "data" in {row["value"] for row in body["by_tag"]}
    config = httpx.get(tagged_server.url + "/api/gateway/config", headers=auth)
    assert config.status_code == 200 and config.json()["tags"] == ["project", "team"]
    recs = httpx.get(tagged_server.url + "/api/costs/recommendations", headers=auth)
    assert recs.status_code == 200 and isinstance(recs.json(), list)
