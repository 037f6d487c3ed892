"""The cache switched per key and per route in full mode (docs/cache.md, "Turning it off"): through
/api/gateway/keys and /api/routing-policies, live within the snapshot poll, answered exactly as a
bonito.yaml key or route with `cache: false` is (`x-bonito-cache: miss`, never a hit, nothing stored)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import openai

from tests.control.helpers import Api, Org, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.observability.traffic import scrape
from tests.support.server import BonitoServer

MODEL = "house-chat"
LIVE_S = 10.0  # the contract's 2 s, with room for a loaded machine


def _ask(server: BonitoServer, key: str, text: str, model: str = MODEL) -> str:
    """What `x-bonito-cache` said to this question, asked through the openai SDK."""
    raw = server.openai(key).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}])
    assert raw.parse().choices[0].message.content
    return raw.headers["x-bonito-cache"]


def _served(server: BonitoServer, key: str, text: str, model: str) -> str | None:
    """`_ask`, or None while the gateway does not serve `model` yet."""
    try:
        return _ask(server, key, text, model)
    except openai.NotFoundError:
        return None


def _question() -> str:
    return f"What is the boiling point of water at sea level? {uuid.uuid4().hex}"


def _upstream_calls(fake: FakeOpenAI, text: str) -> int:
    return sum(1 for r in fake.requests if r.path == "/v1/chat/completions" and text in str(r.body))


def _new_key(api: Api, org: Org, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/api/gateway/keys", org.admin, body)
    assert r.status_code == 201, r.text
    api.wait_key_live(r.json()["key"])
    return dict(r.json())


def _listed(api: Api, org: Org, key_id: str) -> dict[str, Any]:
    return next(k for k in api.get("/api/gateway/keys", org.admin).json() if k["id"] == key_id)


def test_a_key_made_with_cache_off_is_never_answered_from_the_cache(api: Api, server: BonitoServer,
                                                                    fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url, model_name=MODEL)
    assert org.key["cache"] is True and _listed(api, org, org.key["id"])["cache"] is True
    off = _new_key(api, org, {"name": "no-cache", "cache": False})
    assert off["cache"] is False and _listed(api, org, off["id"])["cache"] is False
    assert api.get(f"/api/gateway/keys/{off['id']}", org.admin).json()["cache"] is False
    before = scrape(server.url).value("bonito_cache_hits_total")

    text = _question()
    assert [_ask(server, off["key"], text) for _ in range(3)] == ["miss", "miss", "miss"]
    assert _upstream_calls(fake, text) == 3
    # it left nothing behind: the org's caching key misses first, then hits
    assert [_ask(server, org.key["key"], text) for _ in range(2)] == ["miss", "hit"]
    assert _ask(server, off["key"], text) == "miss"  # and it does not read what the other key stored
    assert _upstream_calls(fake, text) == 5

    eventually(lambda: scrape(server.url).value("bonito_cache_hits_total") == before + 1, within_s=LIVE_S)

    def logged() -> list[dict[str, Any]]:
        return list(api.get("/api/gateway/logs", org.admin).json()["items"])

    eventually(lambda: len(logged()) == 6, within_s=LIVE_S)
    by_key: dict[str, list[Any]] = {}
    for item in logged():
        by_key.setdefault(item["key_name"], []).append(item["cache"])
    assert by_key["no-cache"] == [None] * 4 and sorted(by_key["ci"], key=str) == [None, "hit"]
    assert all(Decimal(i["cost_usd"]) > 0 for i in logged() if i["key_name"] == "no-cache")
    analytics = api.get("/api/gateway/analytics", org.admin).json()["cache"]
    assert analytics["hits"] == 1 and analytics["semantic_hits"] == 0


def test_switching_a_key_off_and_on_is_live(api: Api, server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url, model_name=MODEL)
    key, key_id = org.key["key"], org.key["id"]
    text = _question()
    assert [_ask(server, key, text) for _ in range(2)] == ["miss", "hit"]

    r = api.patch(f"/api/gateway/keys/{key_id}", org.admin, {"cache": False})
    assert r.status_code == 200 and r.json()["cache"] is False
    eventually(lambda: _ask(server, key, text) == "miss", within_s=LIVE_S)
    calls = _upstream_calls(fake, text)
    assert [_ask(server, key, text) for _ in range(2)] == ["miss", "miss"]
    assert _upstream_calls(fake, text) == calls + 2

    # another change to the key keeps its switch where it was
    r = api.patch(f"/api/gateway/keys/{key_id}", org.admin, {"name": "renamed"})
    assert r.status_code == 200 and r.json()["cache"] is False and r.json()["name"] == "renamed"
    assert _listed(api, org, key_id)["cache"] is False

    r = api.patch(f"/api/gateway/keys/{key_id}", org.admin, {"cache": True})
    assert r.status_code == 200 and r.json()["cache"] is True
    eventually(lambda: _ask(server, key, text) == "hit", within_s=LIVE_S)  # the entry stored before is served


def test_a_route_made_through_the_api_opts_out(api: Api, server: BonitoServer, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url, model_name=MODEL)
    r = api.post("/api/routing-policies", org.admin, {"name": "fresh-only", "targets": [{"model": MODEL}],
                                                        "cache": False})
    assert r.status_code == 201 and r.json()["cache"] is False, r.text
    policy_id = r.json()["id"]
    assert api.get(f"/api/routing-policies/{policy_id}", org.admin).json()["cache"] is False
    key = org.key["key"]
    eventually(lambda: _served(server, key, _question(), "fresh-only") == "miss", within_s=LIVE_S)

    text = _question()
    assert [_ask(server, key, text, model="fresh-only") for _ in range(3)] == ["miss", "miss", "miss"]
    assert _upstream_calls(fake, text) == 3
    # the model itself, asked by name, still caches
    assert [_ask(server, key, text) for _ in range(2)] == ["miss", "hit"]

    r = api.patch(f"/api/routing-policies/{policy_id}", org.admin, {"cache": True})
    assert r.status_code == 200 and r.json()["cache"] is True
    # once live, the route's first answer is stored and the next is served from it
    eventually(lambda: _ask(server, key, text, model="fresh-only") == "hit", within_s=LIVE_S)

    # a PATCH of another field keeps the switch; an omitted `cache` on a new policy means on
    r = api.patch(f"/api/routing-policies/{policy_id}", org.admin, {"cache": False})
    assert r.json()["cache"] is False
    assert api.patch(f"/api/routing-policies/{policy_id}", org.admin, {"timeout_s": 20}).json()["cache"] is False
    r = api.post("/api/routing-policies", org.admin, {"name": "default-on", "targets": [{"model": MODEL}]})
    assert r.status_code == 201 and r.json()["cache"] is True


NOT_BOOLEANS: list[Any] = ["no", "false", 0, 1, {"on": True}, [True]]


def test_a_switch_that_is_not_a_boolean_is_refused_naming_the_field(api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url, model_name=MODEL)
    r = api.post("/api/routing-policies", org.admin, {"name": "p", "targets": [{"model": MODEL}]})
    policy_id = r.json()["id"]
    for value in [*NOT_BOOLEANS, None]:
        refused = [
            api.post("/api/gateway/keys", org.admin, {"name": "bad", "cache": value}),
            api.post("/api/routing-policies", org.admin, {"name": "q", "targets": [{"model": MODEL}],
                                                          "cache": value}),
        ]
        if value is not None:  # null in a PATCH leaves a key's switch, and puts a route's back to its default
            refused += [api.patch(f"/api/gateway/keys/{org.key['id']}", org.admin, {"cache": value}),
                        api.patch(f"/api/routing-policies/{policy_id}", org.admin, {"cache": value})]
        for r in refused:
            assert r.status_code == 422, (value, r.text)
            assert any("cache" in d["loc"] for d in r.json()["detail"]), (value, r.text)
    assert [k["name"] for k in api.get("/api/gateway/keys", org.admin).json()] == ["ci"]  # nothing was made
    assert [p["name"] for p in api.get("/api/routing-policies", org.admin).json()] == ["p"]
    assert _listed(api, org, org.key["id"])["cache"] is True
    assert api.get(f"/api/routing-policies/{policy_id}", org.admin).json()["cache"] is True

def test_one_org_cannot_see_or_switch_another_orgs_key(api: Api, server: BonitoServer, fake: FakeOpenAI) -> None:
    mine, theirs = api.org_with_key(fake.url, model_name=MODEL), api.org_with_key(fake.url, model_name=MODEL)
    r = api.patch(f"/api/gateway/keys/{mine.key['id']}", theirs.admin, {"cache": False})
    assert r.status_code == 404
    assert _listed(api, mine, mine.key["id"])["cache"] is True

    warm = _question()
    assert [_ask(server, theirs.key["key"], warm) for _ in range(2)] == ["miss", "hit"]
    api.patch(f"/api/gateway/keys/{theirs.key['id']}", theirs.admin, {"cache": False})
    eventually(lambda: _ask(server, theirs.key["key"], warm) == "miss", within_s=LIVE_S)
    text = _question()
    # the same question in both orgs: the org whose key caches hits; the other never does
    assert [_ask(server, mine.key["key"], text) for _ in range(2)] == ["miss", "hit"]
    assert [_ask(server, theirs.key["key"], text) for _ in range(2)] == ["miss", "miss"]
    assert _upstream_calls(fake, text) == 3

