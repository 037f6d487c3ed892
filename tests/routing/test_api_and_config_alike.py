"""One route — conditional rules, a smart threshold, attempt timeouts — written in bonito.yaml and made
through /api serves every request exactly alike (same target, same number of upstream calls)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.control.helpers import Api, eventually
from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.server import BonitoServer

KEY = "bn-alike-key-0001"
PRICES = {"cheap": (0.1, 0.4), "strong": (5, 15), "slow": (0.1, 0.4)}
HEDGED: dict[str, Any] = {"strategy": "failover", "targets": [{"model": "slow"}, {"model": "cheap"}],
                          "retries": {"max_attempts": 1}, "attempt_timeout_s": 0.5, "timeout_s": 20}
TIERED: dict[str, Any] = {
    "strategy": "smart", "smart": {"threshold": 0.0}, "targets": [{"model": "cheap"}, {"model": "strong"}],
    "retries": {"max_attempts": 2}, "attempt_timeout_s": 10,
    "rules": [{"name": "premium", "when": {"field": "metadata.tier", "value": "premium"}, "targets": ["strong"]},
              {"name": "long", "when": {"all": [{"field": "max_tokens", "op": "gte", "value": 1000},
                                                 {"field": "user", "op": "ne", "value": "vip"}]},
               "route": "hedged"}]}
REQUESTS: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "hi"}]},
    {"messages": [{"role": "user", "content": (
        "Prove that for every integer n > 1 the sum 1/2 + 1/3 + ... + 1/n is never an integer, then write a "
        "Python function that checks it for n up to 10**6 using exact fractions and explain its complexity.")}]},
    {"messages": [{"role": "user", "content": "hi"}], "metadata": {"tier": "premium"}},
    {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2000},
    {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2000, "user": "vip"},
]


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeOpenAI]]:
    up = {m: FakeOpenAI().start() for m in PRICES}
    up["slow"].fail_always(Fault(delay_s=3.0))  # answers, but after every attempt timeout
    yield up
    for f in up.values():
        f.stop()


def _yaml(fakes: dict[str, FakeOpenAI]) -> str:
    return yaml.safe_dump({
        "version": 1,
        "providers": {f"p-{m}": {"type": "openai", "base_url": f.url, "api_key": "sk-upstream"}
                      for m, f in fakes.items()},
        "models": {m: {"provider": f"p-{m}", "model": f"up-{m}", "input_cost_per_mtok": i, "output_cost_per_mtok": o}
                   for m, (i, o) in PRICES.items()},
        "keys": [{"name": "app", "key": KEY, "requests_per_minute": 10000}],
        "routes": {"hedged": HEDGED, "tiered": TIERED}})


def _through_api(server: BonitoServer, fakes: dict[str, FakeOpenAI]) -> str:
    api = Api(server.url)
    admin = api.register(org_name="alike")
    for m, (i, o) in PRICES.items():
        provider = api.post("/api/providers", admin, {"name": f"p-{m}", "type": "openai", "credentials": {
            "base_url": fakes[m].url, "api_key": "sk-upstream"}}).json()
        assert api.post("/api/models", admin, {"name": m, "provider_id": provider["id"], "model": f"up-{m}",
                                               "input_cost_per_mtok": i, "output_cost_per_mtok": o}).status_code == 201
    for name, route in (("hedged", HEDGED), ("tiered", TIERED)):
        r = api.post("/api/routing-policies", admin, {"name": name, **route})
        assert r.status_code == 201, r.text
    key = str(api.post("/api/gateway/keys", admin, {"name": "app", "requests_per_minute": 10000}).json()["key"])
    api.close()
    return key


def _serve(server: BonitoServer, key: str, body: dict[str, Any]) -> tuple[str, str]:
    extra = {k: v for k, v in body.items() if k not in ("messages", "metadata")}
    headers = {"x-bonito-metadata": json.dumps(body["metadata"])} if "metadata" in body else {}
    raw = server.openai(key, timeout=30).chat.completions.with_raw_response.create(
        model="tiered", messages=body["messages"], extra_headers=headers, **extra)
    raw.parse()
    return raw.headers["x-bonito-model-used"], raw.headers["x-bonito-attempts"]


def test_a_route_from_bonito_yaml_and_the_same_route_from_the_api_route_exactly_alike(
        fakes: dict[str, FakeOpenAI], tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir: Path = tmp_path_factory.mktemp("alike-config")
    with BonitoServer(workdir, _yaml(fakes)) as from_file, BonitoServer(tmp_path_factory.mktemp("alike-api")) as full:
        key = _through_api(full, fakes)
        eventually(lambda: _ok(full, key), within_s=5.0)
        from_yaml = [_serve(from_file, KEY, body) for body in REQUESTS]
        from_api = [_serve(full, key, body) for body in REQUESTS]
    assert from_api == from_yaml
    # and what they agree on is the route's settings at work, not a fallback to defaults
    assert from_yaml[0] == ("strong", "1")  # threshold 0 (default 0.5): even "hi" counts as complex
    assert from_yaml[2] == ("strong", "1")  # rule premium
    assert from_yaml[3] == ("cheap", "2")  # rule long → hedged: slow cut at its 0.5 s attempt timeout
    assert from_yaml[4] == ("strong", "1")  # rule long's `all` does not hold for user vip: the smart strategy


def _ok(server: BonitoServer, key: str) -> bool:
    try:
        _serve(server, key, REQUESTS[0])
    except Exception:
        return False
    return True
