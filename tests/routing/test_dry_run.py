"""A dry run answers exactly what the next real request does (same gateway, in-process)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bonito.config.loader import parse_config
from bonito.gateway.app import Gateway
from bonito.gateway.compile import compile_config
from bonito.routing.dry_run import dry_run
from bonito.routing.router import Router
from bonito.usage.record import UsageRecord
from tests.fakes.openai_upstream import Fault
from tests.routing.conftest import KEY, Upstreams, routing_config

ROUTES = """\
  ab:
    strategy: ab_test
    targets: [{model: a-model, weight: 50}, {model: b-model, weight: 50}]
  rr:
    strategy: round_robin
    targets: [{model: a-model}, {model: b-model}, {model: c-model}]
  cheap:
    strategy: cost_optimized
    targets: [{model: c-model}, {model: b-model}, {model: a-model}]
    rules:
      - {name: vip, when: {field: metadata.plan, value: vip}, targets: [c-model]}
  guarded:
    targets: [{model: a-model}, {model: b-model}]
    retries: {max_attempts: 1}
    circuit_breaker: {failure_threshold: 1, cooldown_s: 60}
"""


class ListSink:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def submit(self, record: UsageRecord) -> None:
        self.records.append(record)

    async def start(self) -> None:
        return None

    async def close(self, timeout_s: float = 20.0) -> None:
        return None


@pytest.fixture
async def gateway(up: Upstreams) -> AsyncIterator[tuple[Gateway, ListSink, httpx.AsyncClient]]:
    snap = compile_config(parse_config(routing_config(up, ROUTES), environ={}), 1)
    sink = ListSink()
    gw = Gateway(snap, sink, router=Router(rng=random.Random(3)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw), base_url="http://bonito",
                                 headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield gw, sink, client
    for p in snap.providers.values():
        await p.aclose()


async def _real(client: httpx.AsyncClient, sink: ListSink, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> tuple[httpx.Response, dict[str, Any]]:
    r = await client.post("/v1/chat/completions", json=body, headers=headers or {})
    decision = dict(sink.records[-1].decision or {})
    decision.pop("attempts")
    return r, decision


@pytest.mark.parametrize("route", ["ab", "rr", "cheap"])
async def test_dry_run_equals_the_next_real_request(gateway: Any, route: str) -> None:
    gw, sink, client = gateway
    for i in range(6):
        body = {"model": route, "messages": [{"role": "user", "content": f"question {i} " * (i * 40 + 1)}],
                "max_tokens": 10 ** i}
        planned = dry_run(gw.router, gw.snapshot, route, body)
        again = dry_run(gw.router, gw.snapshot, route, body)
        assert again == planned  # a dry run changes nothing
        r, decision = await _real(client, sink, body)
        assert r.status_code == 200
        assert r.headers["x-bonito-model-used"] == planned["first_target"]
        assert decision == planned["explain"]


async def test_dry_run_applies_rules_from_metadata(gateway: Any) -> None:
    gw, sink, client = gateway
    body = {"model": "cheap", "messages": [{"role": "user", "content": "hi"}]}
    planned = dry_run(gw.router, gw.snapshot, "cheap", body, metadata={"plan": "vip"})
    assert planned["rule"] == "vip" and planned["first_target"] == "c-model"
    r, decision = await _real(client, sink, body, {"x-bonito-metadata": '{"plan": "vip"}'})
    assert r.headers["x-bonito-model-used"] == "c-model" and decision == planned["explain"]


async def test_dry_run_shows_open_breakers_as_skipped(gateway: Any, up: Upstreams) -> None:
    gw, sink, client = gateway
    up.a.fail_always(Fault(503))
    r, _ = await _real(client, sink, {"model": "guarded", "messages": [{"role": "user", "content": "x"}]})
    assert r.headers["x-bonito-attempts"] == "2"
    planned = dry_run(gw.router, gw.snapshot, "guarded")
    assert [(t["model"], t["breaker"], t["skipped"]) for t in planned["targets"]] == [
        ("a-model", "open", True), ("b-model", "closed", False)]
    assert planned["first_target"] == "b-model"
    r, decision = await _real(client, sink, {"model": "guarded", "messages": [{"role": "user", "content": "x"}]})
    assert r.headers["x-bonito-model-used"] == "b-model" and r.headers["x-bonito-attempts"] == "1"
    assert decision == planned["explain"]
    assert sink.records[-1].decision["attempts"][0]["outcome"] == "skipped"  # type: ignore[index]
