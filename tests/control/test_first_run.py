"""First run of the full platform: it says how to create the first admin, at the address it really serves."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.support.server import BonitoServer

HINT = "no admin account yet"


def _wait_for(server: BonitoServer, text: str, timeout_s: float = 15.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in (logs := server.logs()):
            return logs
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in the server's output:\n{server.logs()}")


def test_first_run_names_the_way_to_create_an_admin_until_one_exists(tmp_path: Path) -> None:
    server = BonitoServer(tmp_path)  # full mode: SQLite under ./.bonito/, no config file
    with server:
        logs = _wait_for(server, HINT)
        assert "bonito admin create" in logs
        assert f"{server.url}/api/auth/register" in logs  # the port it was started on, not a default
        r = httpx.post(server.url + "/api/auth/register", timeout=30, json={
            "email": "first@example.com", "password": "correct horse battery staple", "org_name": "acme"})
        assert r.status_code == 201, r.text
    restarted = BonitoServer(tmp_path, port=server.port)
    with restarted:  # healthy: startup, where the hint is printed when due, is over
        time.sleep(0.5)
        assert restarted.logs().count(HINT) == 1  # the first run's line only: the log file is appended to
