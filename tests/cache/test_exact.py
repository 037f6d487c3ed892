"""CONTRACT.md, "Cache": the exact response cache of a config-mode server, through the official openai SDK."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.configs import KEY, basic_config
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

OTHER_ORG_KEY = "bn-cache-other-org-0001"
OPTED_OUT_KEY = "bn-cache-opted-out-0002"
ROUTE_KEY = "rt-cache-route-0003"
CACHE_CONFIG = f"""\
  - name: other-org
    key: {OTHER_ORG_KEY}
    org: other
  - name: opted-out
    key: {OPTED_OUT_KEY}
    cache: false
routes:
  uncached-route:
    key: {ROUTE_KEY}
    targets: [{{model: gpt-4o-mini}}]
    cache: false
cache:
  exact: {{ttl_s: 600}}
"""


@pytest.fixture(scope="module")
def server(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("cache"), basic_config(upstream.url, extra=CACHE_CONFIG)) as srv:
        yield srv


def _prompt() -> list[Any]:
    return [{"role": "user", "content": f"What is the capital of France? ({uuid.uuid4().hex})"}]


def _chat(client: openai.OpenAI, messages: list[Any], **kw: Any) -> tuple[httpx.Headers, Any]:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages, **kw)
    return raw.headers, raw.parse()


def _chat_calls(fake: FakeOpenAI) -> int:
    return sum(1 for r in fake.requests if r.path == "/v1/chat/completions")


def test_identical_request_is_answered_from_the_cache(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    messages = _prompt()
    h1, first = _chat(client, messages, extra_headers={"x-request-id": "cache-miss-1"})
    h2, second = _chat(client, messages, extra_headers={"x-request-id": "cache-hit-1"})
    assert h1["x-bonito-cache"] == "miss" and h2["x-bonito-cache"] == "hit"
    assert _chat_calls(fake) == 1  # the second never reached the upstream
    assert second.choices[0].message.content == first.choices[0].message.content
    assert second.model == "gpt-4o-mini" and second.usage == first.usage
    (miss,) = wait_rows(server.workdir, "request_id = ?", ("cache-miss-1",))
    (hit,) = wait_rows(server.workdir, "request_id = ?", ("cache-hit-1",))
    assert miss["cache"] is None and int(miss["cost_usd"]) > 0
    assert hit["cache"] == "hit" and int(hit["cost_usd"]) == 0 and hit["status"] == 200
    assert int(hit["cache_saved_usd"]) == int(miss["cost_usd"])  # what the hit saved: the first call's cost
    assert hit["model_used"] == "gpt-4o-mini" and hit["prompt_tokens"] == miss["prompt_tokens"]


def test_delivery_fields_are_ignored_and_every_other_field_counts(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    messages = _prompt()
    _chat(client, messages, user="alice")
    h, _ = _chat(client, messages, user="bob", metadata={"team": "x"})
    assert h["x-bonito-cache"] == "hit"
    h, _ = _chat(client, messages, temperature=0.2)
    assert h["x-bonito-cache"] == "miss"
    h, _ = _chat(client, messages, temperature=0.2)
    assert h["x-bonito-cache"] == "hit"
    raw = client.chat.completions.with_raw_response.create(model="fast-chat", messages=messages)
    assert raw.headers["x-bonito-cache"] == "miss"  # another public model
    assert _chat_calls(fake) == 3


def test_no_org_is_answered_from_another_orgs_entry(server: BonitoServer, fake: FakeOpenAI) -> None:
    messages = _prompt()
    _chat(server.openai(KEY), messages)
    h, _ = _chat(server.openai(OTHER_ORG_KEY), messages)
    assert h["x-bonito-cache"] == "miss" and _chat_calls(fake) == 2
    h, _ = _chat(server.openai(OTHER_ORG_KEY), messages)
    assert h["x-bonito-cache"] == "hit"


def test_no_cache_is_not_answered_from_the_cache_but_refreshes_it(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    messages = _prompt()
    _chat(client, messages)
    fake.reply = "A fresher answer."
    try:
        h, fresh = _chat(client, messages, extra_headers={"cache-control": "no-cache"})
        assert h["x-bonito-cache"] == "miss" and fresh.choices[0].message.content == "A fresher answer."
        h, again = _chat(client, messages)
        assert h["x-bonito-cache"] == "hit" and again.choices[0].message.content == "A fresher answer."
    finally:
        fake.reply = FakeOpenAI.reply
    assert _chat_calls(fake) == 2


def test_no_store_is_neither_answered_from_nor_stored(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    messages = _prompt()
    h, _ = _chat(client, messages, extra_headers={"cache-control": "no-store"})
    assert h["x-bonito-cache"] == "miss"
    h, _ = _chat(client, messages)
    assert h["x-bonito-cache"] == "miss"  # the no-store answer was not kept
    h, _ = _chat(client, messages, extra_headers={"cache-control": "no-store"})
    assert h["x-bonito-cache"] == "miss"  # nor is one answered to it
    assert _chat_calls(fake) == 3


def test_a_streamed_answer_is_stored_once_complete_and_replayed_as_sse(server: BonitoServer,
                                                                        fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    messages = _prompt()
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages, stream=True)
    assert raw.headers["x-bonito-cache"] == "miss"
    streamed = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True})
    assert raw.headers["x-bonito-cache"] == "hit"
    chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == streamed
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert {c.choices[0].finish_reason for c in chunks if c.choices} >= {"stop"}
    h, whole = _chat(client, messages)  # the same question asked without streaming
    assert h["x-bonito-cache"] == "hit" and whole.choices[0].message.content == streamed
    with httpx.stream("POST", server.url + "/v1/chat/completions", headers={"authorization": f"Bearer {KEY}"},
                      json={"model": "gpt-4o-mini", "messages": messages, "stream": True}, timeout=30) as r:
        body = r.read()
    assert r.headers["x-bonito-cache"] == "hit" and r.headers["content-type"].startswith("text/event-stream")
    assert body.endswith(b"data: [DONE]\n\n")
    assert _chat_calls(fake) == 1


def test_a_json_answer_is_replayed_to_a_streaming_client(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    messages = _prompt()
    _, whole = _chat(client, messages)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages, stream=True)
    assert raw.headers["x-bonito-cache"] == "hit"
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == whole.choices[0].message.content


def test_errors_and_broken_streams_are_not_stored(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    messages = _prompt()
    fake.fail_next(Fault(status=400, message="bad thing", error_type="invalid_request_error"))
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(client, messages)
    assert caught.value.response.headers["x-bonito-cache"] == "miss"
    h, _ = _chat(client, messages)
    assert h["x-bonito-cache"] == "miss"  # the error was not kept
    broken = _prompt()
    fake.fail_next(Fault(drop_after_chunks=1))
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="gpt-4o-mini", messages=broken, stream=True))
    h, _ = _chat(client, broken)
    assert h["x-bonito-cache"] == "miss"


def test_opted_out_key_and_route_always_go_upstream(server: BonitoServer, fake: FakeOpenAI) -> None:
    messages = _prompt()
    for key in (OPTED_OUT_KEY, OPTED_OUT_KEY, ROUTE_KEY, ROUTE_KEY):
        h, _ = _chat(server.openai(key), messages)
        assert h["x-bonito-cache"] == "miss"
    assert _chat_calls(fake) == 4
    h, _ = _chat(server.openai(KEY), messages)
    assert h["x-bonito-cache"] == "miss"  # nor did they leave an entry behind


def test_embeddings_are_cached_too(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    text = f"embed me {uuid.uuid4().hex}"
    first = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=text)
    second = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=text)
    assert first.headers["x-bonito-cache"] == "miss" and second.headers["x-bonito-cache"] == "hit"
    assert second.parse().data[0].embedding == first.parse().data[0].embedding


def test_entries_expire_after_their_ttl(upstream: FakeOpenAI, fake: FakeOpenAI, tmp_path: Any) -> None:
    config = basic_config(upstream.url, extra="cache:\n  exact: {ttl_s: 1}\n")
    with BonitoServer(tmp_path, config) as srv:
        client = srv.openai(KEY)
        messages = _prompt()
        _chat(client, messages)
        h, _ = _chat(client, messages)
        assert h["x-bonito-cache"] == "hit"
        time.sleep(1.3)
        h, _ = _chat(client, messages)
        assert h["x-bonito-cache"] == "miss"


def test_without_cache_config_no_answer_is_cached(upstream: FakeOpenAI, fake: FakeOpenAI, tmp_path: Any) -> None:
    with BonitoServer(tmp_path, basic_config(upstream.url)) as srv:
        client = srv.openai(KEY)
        messages = _prompt()
        for _ in range(2):
            h, _ = _chat(client, messages)
            assert "x-bonito-cache" not in h
        assert _chat_calls(fake) == 2
        (row, _) = wait_rows(srv.workdir, "1=1", count=2)
        assert row["cache"] is None and Decimal(int(row["cost_usd"])) > 0
