"""CONTRACT.md "Install and run": `pip install <checkout>` puts a `bonito` command on PATH, and
`bonito serve` writes only under ./.bonito/ of its working directory (the master key file 0600)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY, basic_config
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def _install(tmp: Path) -> Path | None:
    """pip-install a copy of the checkout (never building inside it) into a bare venv; its bin/ or None."""
    checkout = tmp / "checkout"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    shutil.copytree(ROOT / "src", checkout / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    out = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                          "--disable-pip-version-check", str(checkout)],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        # building needs setuptools from the package index; offline that is no failure of ours
        if any(s in out.stderr for s in ("No matching distribution", "Could not find a version",
                                         "connection", "Connection", "Temporary failure")):
            return None
        raise AssertionError(out.stderr)
    return venv / "bin"


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_pip_install_gives_a_bonito_command_that_serves_writing_only_under_dot_bonito(
        tmp_path: Path, upstream: FakeOpenAI) -> None:
    upstream.reset()
    bindir = _install(tmp_path)
    if bindir is not None:
        assert (bindir / "bonito").exists()
        # the installed command, with the dependencies of this test run (installed --no-deps)
        deps = sysconfig.get_paths()["purelib"]
        cmd = [str(bindir / "bonito")]
        env_extra = {"PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": deps}
        help_out = subprocess.run(["bonito", "serve", "--help"], capture_output=True, text=True, timeout=60,
                                  env={**os.environ, **env_extra})
        assert help_out.returncode == 0
        for flag in ("--config", "--host", "--port", "--workers"):
            assert flag in help_out.stdout
    else:
        cmd = [sys.executable, "-m", "bonito"]
        env_extra = {}

    run, cfg_dir, home, logs = (tmp_path / d for d in ("run", "cfg", "home", "logs"))
    for d in (run, cfg_dir, home, logs):
        d.mkdir()
    (cfg_dir / "bonito.yaml").write_text(basic_config(upstream.url))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BONITO_")}
    env.update(env_extra, HOME=str(home), PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    with (logs / "server.log").open("wb") as log:
        proc = subprocess.Popen([*cmd, "serve", "--config", str(cfg_dir / "bonito.yaml"), "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "1"],
                                cwd=run, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, (logs / "server.log").read_text()
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, (logs / "server.log").read_text()
                time.sleep(0.05)
            r = httpx.post(url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                           json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                           timeout=30)
            assert r.status_code == 200, r.text
            # the control plane too (accounts live in the same store under the data dir)
            reg = httpx.post(url + "/api/auth/register", timeout=40, json={
                "email": "owner@example.com", "password": "correct horse battery staple", "org_name": "acme"})
            assert reg.status_code == 201, reg.text
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, (logs / "server.log").read_text()

    assert {p.split("/")[0] for p in _tree(run)} == {".bonito"}, _tree(run)
    assert _tree(cfg_dir) == {"bonito.yaml"}
    assert _tree(home) == set()
    data = run / ".bonito"
    assert (data / "bonito.db").exists()
    assert (data / "master.key").exists()  # the default master key file
    for key_file in data.rglob("master.key*"):
        assert key_file.stat().st_mode & 0o777 == 0o600, key_file


def test_serve_workers_flag_starts_that_many_workers(tmp_path: Path, upstream: FakeOpenAI) -> None:
    from tests.support.server import BonitoServer

    upstream.reset()
    with BonitoServer(tmp_path, basic_config(upstream.url), workers=2) as srv:
        assert srv.proc is not None
        children = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2, children  # one process per worker under uvicorn's supervisor
        statuses = {httpx.post(srv.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                               json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
                               timeout=30).status_code for _ in range(6)}
        assert statuses == {200}


@pytest.mark.parametrize("workers", [1, 2])
def test_config_mode_serves_with_the_database_unreachable_from_the_start(tmp_path: Path, upstream: FakeOpenAI,
                                                                         workers: int) -> None:
    from tests.support.server import BonitoServer
    from tests.support.usage_db import usage_rows

    upstream.reset()
    dead = f"postgresql+asyncpg://bonito:pw@127.0.0.1:{free_port()}/bonito"
    started = time.monotonic()
    srv = BonitoServer(tmp_path, basic_config(upstream.url), env={"BONITO_DATABASE_URL": dead},
                       workers=workers).start()
    try:
        assert time.monotonic() - started < 20
        for i in range(3):
            r = httpx.post(srv.url + "/v1/chat/completions", timeout=10,
                           headers={"Authorization": f"Bearer {KEY}", "x-request-id": f"nodb-{i}"},
                           json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})
            assert r.status_code == 200, r.text
        assert httpx.get(srv.url + "/health", timeout=5).status_code == 200
        ready = httpx.get(srv.url + "/health/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["database"] == "down"
    finally:
        stopping = time.monotonic()
        assert srv.stop() == 0
        assert time.monotonic() - stopping < 30
    # nothing was lost: the records wait in the spool under ./.bonito/ for the database
    spooled = b"".join(p.read_bytes() for p in (tmp_path / ".bonito" / "spool").glob("*"))
    assert all(f"nodb-{i}".encode() in spooled for i in range(3))
    assert usage_rows(tmp_path) == []


def test_sigterm_to_the_main_process_of_two_workers_finishes_streams_and_records(
        tmp_path: Path, upstream: FakeOpenAI) -> None:
    import threading

    from tests.support.server import BonitoServer
    from tests.support.usage_db import usage_rows

    upstream.reset()
    upstream.chunk_delay_s = 0.2  # a ~1.5 s stream
    srv = BonitoServer(tmp_path, basic_config(upstream.url), workers=2).start()
    texts: list[str] = []

    def consume(i: int) -> None:
        with httpx.stream("POST", srv.url + "/v1/chat/completions", timeout=30,
                          headers={"Authorization": f"Bearer {KEY}", "x-request-id": f"term-{i}"},
                          json={"model": "gpt-4o-mini", "stream": True,
                                "messages": [{"role": "user", "content": "x"}]}) as r:
            lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
        texts.append(lines[-1])

    try:
        threads = [threading.Thread(target=consume, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        stopping = time.monotonic()
        assert srv.stop() == 0
        assert time.monotonic() - stopping < 30
        for t in threads:
            t.join(30)
    finally:
        upstream.reset()
    assert texts == ["data: [DONE]"] * 4
    rows = usage_rows(tmp_path, "request_id LIKE 'term-%'")
    assert sorted(r["request_id"] for r in rows) == [f"term-{i}" for i in range(4)]
    assert {r["status"] for r in rows} == {200}
