"""Each strategy picks what it should, through the real server with several fake upstreams."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator

import aiohttp
import httpx
import pytest

from tests.fakes.openai_upstream import Fault
from tests.routing.conftest import KEY, ROUTE_KEY, Upstreams, start_server
from tests.support.server import BonitoServer

ROUTES = f"""\
  ab:
    strategy: ab_test
    targets: [{{model: a-model, weight: 80}}, {{model: b-model, weight: 20}}]
  cheap:
    strategy: cost_optimized
    targets: [{{model: c-model}}, {{model: a-model}}, {{model: b-model}}]
  fast:
    strategy: latency_optimized
    targets: [{{model: a-model}}, {{model: b-model}}]
  rr:
    strategy: round_robin
    targets: [{{model: a-model}}, {{model: b-model}}, {{model: c-model}}]
  idle:
    strategy: least_busy
    targets: [{{model: a-model}}, {{model: b-model}}]
  smart:
    strategy: smart
    targets: [{{model: c-model}}, {{model: a-model}}]
  mix:
    strategy: balanced
    targets: [{{model: c-model}}, {{model: b-model}}]
  prefer-b:
    targets: [{{model: b-model}}, {{model: a-model}}]
  cond:
    key: {ROUTE_KEY}
    targets: [{{model: a-model}}, {{model: b-model}}]
    rules:
      - name: premium
        when: {{all: [{{field: metadata.tier, value: premium}}, {{field: max_tokens, op: gte, value: 100}}]}}
        targets: [c-model]
      - name: research
        when: {{any: [{{field: metadata.team, op: in, value: [research, lab]}}, {{field: user, op: matches, value: "^lab-"}}]}}
        route: prefer-b
"""
MSG = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server(upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    srv = start_server(tmp_path_factory, upstreams, ROUTES)
    yield srv
    srv.stop()


def _used(server: BonitoServer, route: str, key: str = KEY, headers: dict[str, str] | None = None,
          **body: object) -> str:
    r = httpx.post(server.url + "/v1/chat/completions",
                   headers={"Authorization": f"Bearer {key}", **(headers or {})},
                   json={"model": route, "messages": MSG, **body}, timeout=30)
    assert r.status_code == 200, r.text
    return r.headers["x-bonito-model-used"]


def test_ab_split_is_within_statistical_bounds(server: BonitoServer, up: Upstreams) -> None:
    async def run() -> Counter[str]:
        counts: Counter[str] = Counter()
        # aiohttp's pool stays fast at this concurrency (httpx's async pool does not)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32),
                                         headers={"Authorization": f"Bearer {KEY}"}) as session:
            async def one() -> None:
                async with session.post(server.url + "/v1/chat/completions",
                                        json={"model": "ab", "messages": MSG}) as r:
                    await r.read()
                    assert r.status == 200
                    counts[r.headers["x-bonito-model-used"]] += 1

            for _ in range(2000 // 100):
                await asyncio.gather(*(one() for _ in range(100)))
        return counts

    counts = asyncio.run(run())
    # 80/20 over 2,000: mean 1,600, sd ~17.9; 4 sd either side
    assert 1528 <= counts["a-model"] <= 1672, counts
    assert counts["a-model"] + counts["b-model"] == 2000


def test_ab_keeps_a_user_on_one_arm(server: BonitoServer, up: Upstreams) -> None:
    for user in ("u-1", "u-2", "u-3"):
        arms = {_used(server, "ab", user=user) for _ in range(5)}
        assert len(arms) == 1


def test_cost_optimized_picks_the_cheapest_for_the_request(server: BonitoServer, up: Upstreams) -> None:
    # a: $0.1 in / $10 out; b: $1 / $1; c: $30 / $60
    long_prompt = [{"role": "user", "content": "word " * 800}]  # ~1,000 tokens
    assert _used(server, "cheap", messages=long_prompt, max_tokens=5) == "a-model"  # a's cheap input wins
    assert _used(server, "cheap", max_tokens=2000) == "b-model"  # long answer: b's cheap output wins


def test_cost_optimized_falls_back_to_the_next_cheapest(server: BonitoServer, up: Upstreams) -> None:
    up.b.fail_always(Fault(500))
    assert _used(server, "cheap", max_tokens=2000) == "a-model"  # then a, then (most expensive) c


def test_latency_optimized_prefers_the_fast_target_and_adapts(server: BonitoServer, up: Upstreams) -> None:
    up.b.fail_always(Fault(delay_s=0.5))  # far slower than a, whatever noise a busy machine adds to a
    # b is tried at most once (when its older, fast average or a stale one still ranks it first): once
    # measured slow its average stays far above a's, and a serves everything after
    picks = [_used(server, "fast") for _ in range(8)]
    slow = [i for i, p in enumerate(picks) if p == "b-model"]
    assert len(slow) <= 1, picks
    assert all(p == "a-model" for p in picks[(slow[0] + 1) if slow else 0:]), picks
    up.b.fail_always(None)
    # a gets much slower than b ever was: a decaying average (newest sample weighs 0.3) moves past b's
    # remembered latency within a call or two, however noisy the machine made the earlier samples
    up.a.fail_always(Fault(delay_s=1.0))
    picks = [_used(server, "fast") for _ in range(8)]
    assert picks.count("a-model") <= 3, picks
    assert picks[-3:] == ["b-model"] * 3, picks  # traffic moved to b and stays there


def test_latency_counts_whole_streams(server: BonitoServer, up: Upstreams) -> None:
    up.a.chunk_delay_s = 0.03  # first chunk fast, the whole answer slow
    client = server.openai(KEY)
    picks = []
    for _ in range(6):
        raw = client.chat.completions.with_raw_response.create(model="fast", messages=MSG, stream=True)
        list(raw.parse())
        picks.append(raw.headers["x-bonito-model-used"])
    assert picks[-2:] == ["b-model"] * 2, picks


def test_round_robin_takes_turns(server: BonitoServer, up: Upstreams) -> None:
    picks = [_used(server, "rr") for _ in range(6)]
    assert picks == ["a-model", "b-model", "c-model"] * 2


def test_least_busy_avoids_the_target_with_calls_in_flight(server: BonitoServer, up: Upstreams) -> None:
    up.a.fail_next(Fault(delay_s=1.0))
    slow = threading.Thread(target=_used, args=(server, "idle"))
    slow.start()
    for _ in range(100):
        if up.a.requests:
            break
        threading.Event().wait(0.02)
    assert _used(server, "idle") == "b-model"
    slow.join()
    assert _used(server, "idle") == "a-model"


def test_smart_sends_simple_prompts_cheap_and_complex_ones_strong(server: BonitoServer, up: Upstreams) -> None:
    hard = ("A train leaves at 3:15 pm travelling 84 km per hour; a second leaves 45 minutes later at "
            "112 km per hour on a parallel track. Compute when and where the second overtakes the first, "
            "then prove the answer is unique and write a python function that solves the general case.")
    simple = [{"role": "user", "content": "What is the capital of France?\nA. Paris\nB. Rome\nAnswer:"}]
    r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                   json={"model": "smart", "messages": simple})
    assert r.headers["x-bonito-model-used"] == "a-model"
    r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                   json={"model": "smart", "messages": [{"role": "user", "content": hard}]})
    assert r.headers["x-bonito-model-used"] == "c-model"


def test_balanced_weighs_cost_and_latency(server: BonitoServer, up: Upstreams) -> None:
    # c is 30x the price of b; with no large latency gap, balanced picks b
    picks = [_used(server, "mix") for _ in range(4)]
    assert picks[-2:] == ["b-model", "b-model"]


def test_conditional_rules_on_metadata_and_parameters(server: BonitoServer, up: Upstreams) -> None:
    assert _used(server, "cond") == "a-model"
    assert _used(server, "cond", metadata={"tier": "premium"}, max_tokens=200) == "c-model"
    assert _used(server, "cond", metadata={"tier": "premium"}, max_tokens=50) == "a-model"  # AND
    header = {"x-bonito-metadata": '{"tier": "premium"}'}
    assert _used(server, "cond", headers=header, max_tokens=200) == "c-model"
    assert _used(server, "cond", headers={"x-bonito-metadata": '{"team": "lab"}'}) == "b-model"  # OR
    assert _used(server, "cond", user="lab-7") == "b-model"


def test_malformed_metadata_header_is_a_400(server: BonitoServer, up: Upstreams) -> None:
    r = httpx.post(server.url + "/v1/chat/completions",
                   headers={"Authorization": f"Bearer {KEY}", "x-bonito-metadata": "{not json"},
                   json={"model": "cond", "messages": MSG})
    assert r.status_code == 400 and r.json()["error"]["param"] == "x-bonito-metadata"
    # a plain model reads no metadata, yet a malformed header is refused the same way
    r = httpx.post(server.url + "/v1/chat/completions", json={"model": "a-model", "messages": MSG},
                   headers={"Authorization": f"Bearer {KEY}", "x-bonito-metadata": "[1, 2]"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["param"] == "x-bonito-metadata"


def test_route_key_is_served_by_its_route_whatever_the_model(server: BonitoServer, up: Upstreams) -> None:
    assert _used(server, "some-other-model", key=ROUTE_KEY) == "a-model"
    assert _used(server, "c-model", key=ROUTE_KEY, metadata={"team": "research"}) == "b-model"
    client = server.openai(ROUTE_KEY)
    assert [m.id for m in client.models.list()] == ["cond"]
