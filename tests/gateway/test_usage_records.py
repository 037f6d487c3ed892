"""One usage record per request — successes, failures, streams and disconnects."""

from __future__ import annotations

import json
import socket
import time
from decimal import Decimal

import httpx

from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.configs import KEY
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows

PICO = Decimal(10) ** 12


def _cost(row: dict[str, object]) -> Decimal:
    return Decimal(int(row["cost_usd"])) / PICO  # type: ignore[call-overload]


def test_success_is_recorded_with_tokens_cost_and_ids(server: BonitoServer, fake: FakeOpenAI) -> None:
    raw = server.openai(KEY).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello there friend"}],
        extra_headers={"x-request-id": "rec-success-1"})
    resp = raw.parse()
    assert raw.headers["x-request-id"] == "rec-success-1"
    (row,) = wait_rows(server.workdir, "request_id = ?", ("rec-success-1",))
    assert row["model_requested"] == "gpt-4o-mini" and row["model_used"] == "gpt-4o-mini"
    assert row["provider"] == "local-openai" and row["upstream_model"] == "gpt-4o-mini"
    assert row["status"] == 200 and row["error"] is None
    assert row["source"] == "shared_gateway"
    assert row["key_name"] == "ci" and row["org_id"] == "default"
    assert row["prompt_tokens"] == resp.usage.prompt_tokens  # type: ignore[union-attr]
    assert row["completion_tokens"] == resp.usage.completion_tokens  # type: ignore[union-attr]
    expected = (Decimal(row["prompt_tokens"]) * Decimal("0.15") + Decimal(row["completion_tokens"]) * Decimal("0.60")) / 10**6
    assert _cost(row) == expected
    assert row["latency_ms"] > 0 and row["created_at"]
    assert json.loads(row["decision"])["attempts"][0]["outcome"] == "ok"


def test_same_client_request_id_twice_gives_two_records(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
                                       extra_headers={"x-request-id": "dup-id-7"})
    rows = wait_rows(server.workdir, "request_id = ?", ("dup-id-7",), count=2)
    assert len(rows) == 2 and rows[0]["id"] != rows[1]["id"]


def test_cost_is_exact_decimal(server: BonitoServer, fake: FakeOpenAI) -> None:
    # fast-chat costs $250,000 per million input tokens: $0.25 per prompt token, no float drift
    client = server.openai(KEY)
    for i in range(4):
        client.chat.completions.create(model="fast-chat", messages=[{"role": "user", "content": "x"}],
                                       extra_headers={"x-request-id": f"exact-{i}"})
    rows = wait_rows(server.workdir, "request_id LIKE 'exact-%'", count=4)
    total = sum((_cost(r) for r in rows), Decimal(0))
    tokens = sum(r["prompt_tokens"] for r in rows)
    assert total == Decimal("0.25") * tokens


def test_failure_is_recorded(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.fail_always(Fault(status=503))
    r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}",
                   "x-request-id": "rec-fail-1"},
                   json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 502
    (row,) = wait_rows(server.workdir, "request_id = ?", ("rec-fail-1",))
    assert row["status"] == 502 and row["error"]
    assert row["attempts"] == 2 and row["model_used"] == "gpt-4o-mini"
    assert _cost(row) == 0


def test_rejected_requests_are_recorded(server: BonitoServer) -> None:
    r = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}",
                   "x-request-id": "rec-404"}, json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404
    (row,) = wait_rows(server.workdir, "request_id = ?", ("rec-404",))
    assert row["status"] == 404 and row["model_requested"] == "nope"


def test_stream_is_recorded_with_usage_and_ttft(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}],
                                        stream=True, extra_headers={"x-request-id": "rec-stream-1"}))
    (row,) = wait_rows(server.workdir, "request_id = ?", ("rec-stream-1",))
    assert row["stream"] == 1 and row["status"] == 200
    assert row["completion_tokens"] == len(fake.reply.split())
    assert row["prompt_tokens"] > 0 and _cost(row) > 0
    assert row["ttft_ms"] is not None and 0 < row["ttft_ms"] <= row["latency_ms"]


def test_client_disconnect_mid_stream_cancels_upstream_and_is_recorded(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.chunk_delay_s = 0.3
    body = json.dumps({"model": "gpt-4o-mini", "stream": True,
                       "messages": [{"role": "user", "content": "Tell me a long story"}]}).encode()
    req = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
           f"x-request-id: rec-disconnect-1\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
           ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(req)
        data = b""
        while b"data:" not in data:
            data += sock.recv(4096)
    (row,) = wait_rows(server.workdir, "request_id = ?", ("rec-disconnect-1",))
    assert row["status"] == 499 and "disconnect" in row["error"]
    assert row["stream"] == 1
    deadline = time.monotonic() + 3
    while fake.streams_cut_by_client == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.streams_cut_by_client == 1, "the upstream call was not cancelled"


def test_upstream_dropping_mid_stream_ends_stream_and_is_recorded(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.chunk_delay_s = 0.05  # let the first chunks reach Bonito before the cut
    fake.fail_next(Fault(drop_after_chunks=2))
    with httpx.stream("POST", server.url + "/v1/chat/completions",
                      headers={"Authorization": f"Bearer {KEY}", "x-request-id": "rec-drop-1"},
                      json={"model": "gpt-4o-mini", "stream": True,
                            "messages": [{"role": "user", "content": "x"}]}) as r:
        assert r.status_code == 200
        lines = [ln for ln in r.iter_lines() if ln.startswith("data:")]
    assert lines[-1] == "data: [DONE]"
    assert any('"error"' in ln for ln in lines)
    (row,) = wait_rows(server.workdir, "request_id = ?", ("rec-drop-1",))
    assert row["status"] == 502 and row["error"]
    assert len(fake.requests) == 1, "a stream that already sent data must not be retried"
