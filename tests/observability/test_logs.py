"""`bonito serve --log-format json`: every line from start to exit is one JSON object; requests have theirs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.fakes.openai_upstream import FakeOpenAI
from tests.observability.traffic import client, config
from tests.support.server import BonitoServer


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    parsed = []
    for line in lines:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(obj, dict), line
        assert {"time", "level", "logger", "message"} <= obj.keys(), line
        parsed.append(obj)
    return parsed


def test_every_line_of_a_two_worker_run_is_json(tmp_path: Path, fake: FakeOpenAI) -> None:
    srv = BonitoServer(tmp_path, config(fake.url), workers=2, args=["--log-format", "json"]).start()
    try:
        with client(srv.url) as c:
            c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                      extra_headers={"x-request-id": "log-line-check-1"})
        httpx.post(srv.url + "/v1/chat/completions", content=b"{not json",
                   headers={"authorization": "Bearer nope", "x-request-id": "log-line-check-2"})
        r = httpx.get(srv.url + "/api/auth/me")
        api_rid = r.headers["x-request-id"]
    finally:
        assert srv.stop() == 0
    lines = json_lines(srv.logs())
    mine = [obj for obj in lines if obj.get("request_id") == "log-line-check-1"]
    assert len(mine) == 1
    (line,) = mine
    assert line["status"] == 200 and line["model"] == "gpt-4o-mini" and line["org"] == "default"
    assert line["latency_ms"] > 0 and line["path"] == "/v1/chat/completions"
    assert [obj["status"] for obj in lines if obj.get("request_id") == "log-line-check-2"] == [401]
    assert [obj["status"] for obj in lines if obj.get("request_id") == api_rid] == [401]
    messages = " ".join(obj["message"] for obj in lines)
    assert "Started parent process" in messages and "Application startup complete" in messages
    assert "Finished server process" in messages  # the HTTP server's own lines, to the end


def test_full_mode_start_up_hints_are_json(tmp_path: Path) -> None:
    srv = BonitoServer(tmp_path, args=["--log-format", "json"]).start()
    try:
        deadline = time.monotonic() + 20
        while "no admin account yet" not in srv.logs() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert srv.stop() == 0
    lines = json_lines(srv.logs())
    assert any("bonito admin create" in obj["message"] for obj in lines)


def test_an_invalid_config_is_reported_as_json(tmp_path: Path) -> None:
    bad = tmp_path / "bonito.yaml"
    bad.write_text("version: 1\nmodels: {m: {provider: nowhere, model: x}}\n")
    run = subprocess.run([sys.executable, "-m", "bonito", "serve", "--config", str(bad), "--log-format", "json"],
                         cwd=tmp_path, capture_output=True, timeout=60)
    assert run.returncode == 2
    assert run.stdout == b""
    lines = json_lines(run.stderr.decode())
    assert any("invalid config" in obj["message"] for obj in lines)
