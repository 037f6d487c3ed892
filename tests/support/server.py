"""Start the real `bonito serve` in a subprocess, the way a user does.

    with BonitoServer(tmp_path, config_text, env={...}) as srv:
        client = srv.openai("bn-key")      # the official openai SDK
        httpx.get(srv.url + "/health")
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai

from tests.support.openai_schema import ValidatingTransport
from tests.support.ports import free_port


class BonitoServer:
    def __init__(self, workdir: Path, config: str | None = None, *, env: dict[str, str] | None = None,
                 workers: int = 1, args: list[str] | None = None, port: int | None = None,
                 python: str | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path: Path | None = None
        if config is not None:
            self.config_path = self.workdir / "bonito.yaml"
            self.config_path.write_text(config)
        self.env = env or {}
        self.workers = workers
        self.args = args or []
        self.port = port or free_port()
        self.python = python or sys.executable  # another venv's interpreter: an install as users make it
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [self.python, "-m", "bonito", "serve", "--port", str(self.port), "--workers", str(self.workers),
               *self.args]
        if self.config_path is not None:
            cmd += ["--config", str(self.config_path)]
        return cmd

    def environment(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}

    def start(self, wait: bool = True) -> BonitoServer:
        self._log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), cwd=self.workdir, env=self.environment(), stdout=self._log,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout_s: float = 20.0, path: str = "/health") -> float:
        """Seconds from start until `path` answered 200."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"bonito exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return time.monotonic() - self.started_at
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"bonito did not answer 200 on {path}:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def openai(self, key: str, **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("max_retries", 0)
        # every answer is held against OpenAI's response schemas as the SDK reads it
        kwargs.setdefault("http_client", openai.DefaultHttpxClient(transport=ValidatingTransport()))
        return openai.OpenAI(api_key=key, base_url=self.url + "/v1", **kwargs)

    def write_config(self, text: str) -> None:
        assert self.config_path is not None
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config_path)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout_s: float = 40.0, *, sig: int | None = None) -> int:
        """Stop with SIGTERM (or `sig`), SIGKILL past `timeout_s`; the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if sig is None else sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> BonitoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
