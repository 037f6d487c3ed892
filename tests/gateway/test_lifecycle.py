"""Hot reload, bad config at start, graceful shutdown that finishes streams and flushes usage."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY, basic_config
from tests.support.server import BonitoServer
from tests.support.usage_db import usage_rows

NEW_KEY = "bn-added-by-reload"


def _wait(pred, timeout_s: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def _key_works(srv: BonitoServer, key: str) -> bool:
    r = httpx.get(srv.url + "/v1/models", headers={"Authorization": f"Bearer {key}"})
    return r.status_code == 200


def test_config_change_is_picked_up_and_invalid_change_keeps_old(tmp_path: Path, fake: FakeOpenAI) -> None:
    base = basic_config(fake.url)
    with BonitoServer(tmp_path, base) as srv:
        assert not _key_works(srv, NEW_KEY)
        srv.write_config(base + f"  - name: added\n    key: {NEW_KEY}\n")
        assert _wait(lambda: _key_works(srv, NEW_KEY)), "new key not served after reload"

        srv.write_config(base + "  - name: broken\n    requests_per_minute: -1\n")
        time.sleep(2.5)
        assert _key_works(srv, NEW_KEY), "an invalid file must keep the old snapshot serving"
        assert "reload rejected" in srv.logs()
        assert "keys[3]" in srv.logs()


def test_sighup_reloads_at_once(tmp_path: Path, fake: FakeOpenAI) -> None:
    base = basic_config(fake.url)
    with BonitoServer(tmp_path, base) as srv:
        path = srv.config_path
        assert path is not None
        stat = path.stat()
        path.write_text(base + f"  - name: added\n    key: {NEW_KEY}\n")
        srv.signal(signal.SIGHUP)
        assert _wait(lambda: _key_works(srv, NEW_KEY), 3.0)
        del stat


def test_invalid_config_at_start_names_field_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bonito.yaml"
    cfg.write_text("version: 1\nproviders:\n  p:\n    type: openai\n    base_urll: http://x\n")
    out = subprocess.run([sys.executable, "-m", "bonito", "serve", "--config", str(cfg)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "bonito.yaml:5" in out.stderr and "providers.p.base_urll" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_env_var_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "bonito.yaml"
    cfg.write_text("version: 1\nkeys:\n  - name: a\n    key: ${BONITO_TEST_UNSET_VAR}\n")
    out = subprocess.run([sys.executable, "-m", "bonito", "serve", "--config", str(cfg)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "BONITO_TEST_UNSET_VAR" in out.stderr and "Traceback" not in out.stderr


def test_sigterm_finishes_inflight_stream_and_flushes_usage(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.chunk_delay_s = 0.25  # a ~2 s stream
    srv = BonitoServer(tmp_path, basic_config(fake.url)).start()
    got: dict[str, object] = {}

    def consume() -> None:
        client = srv.openai(KEY)
        try:
            chunks = list(client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True,
                extra_headers={"x-request-id": "shutdown-stream"}))
            got["text"] = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        except Exception as exc:  # pragma: no cover - reported below
            got["error"] = exc

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.6)
    srv.signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises((httpx.HTTPError, openai.APIConnectionError)):
        httpx.get(srv.url + "/health", timeout=1)  # no longer accepting
    t.join(30)
    code = srv.stop()
    assert code == 0
    assert got.get("text") == fake.reply, got
    rows = usage_rows(tmp_path, "request_id = ?", ("shutdown-stream",))
    assert len(rows) == 1 and rows[0]["status"] == 200
