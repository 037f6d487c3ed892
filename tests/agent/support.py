"""Real `bonito agent` processes, and a recording proxy that sees every byte an agent sends the
control plane (so a test can prove what crosses the boundary)."""

from __future__ import annotations

import asyncio
import gzip
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.support.ports import free_port
from tests.support.server import BonitoServer


class AgentProcess(BonitoServer):
    """`bonito agent` started the way a user starts it; `stop(sig)` sends any signal."""

    def __init__(self, workdir: Path, control_plane: str, *, token: str | None = None,
                 token_file: Path | None = None, config: str | None = None, sync_interval: float = 1.0,
                 heartbeat_interval: float = 1.0, port: int | None = None, env: dict[str, str] | None = None,
                 args: list[str] | None = None) -> None:
        super().__init__(workdir, env=env, port=port, args=args)
        self.control_plane = control_plane
        self.token = token
        self.token_file = token_file
        if config is not None:
            self.config_path = self.workdir / "agent.yaml"
            self.config_path.write_text(config)
        self.sync_interval = sync_interval
        self.heartbeat_interval = heartbeat_interval
        self.log_path = self.workdir / "agent.log"

    @property
    def state_dir(self) -> Path:
        return self.workdir / ".bonito" / "agent"

    def command(self) -> list[str]:
        cmd = [self.python, "-m", "bonito", "agent", "--control-plane", self.control_plane,
               "--port", str(self.port), "--sync-interval", str(self.sync_interval),
               "--heartbeat-interval", str(self.heartbeat_interval)]
        if self.token_file is not None:
            cmd += ["--token-file", str(self.token_file)]
        if self.config_path is not None:
            cmd += ["--config", str(self.config_path)]
        return [*cmd, *self.args]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.pop("BONITO_ORG_TOKEN", None)
        if self.token is not None:
            env["BONITO_ORG_TOKEN"] = self.token  # the environment stands for --token
        return env

    def start(self, wait: bool = True) -> AgentProcess:
        super().start(wait=False)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout_s: float = 30.0) -> float:
        """Seconds from start until /health/ready answered 200 (a config is being served)."""
        return self.wait_healthy(timeout_s, "/health/ready")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 40.0) -> int:  # type: ignore[override]
        return super().stop(timeout_s, sig=sig)

    def __enter__(self) -> AgentProcess:
        return self.start()


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes  # as the agent meant it: gzip already inflated


class RecordingProxy:
    """Forwards to the control plane and keeps every request the agent sent through it."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.port = free_port()
        self.sent: list[Sent] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RecordingProxy:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()

        async def main() -> None:
            session = aiohttp.ClientSession(auto_decompress=False)
            app = web.Application(client_max_size=256 * 1024 * 1024)

            async def forward(request: web.Request) -> web.Response:
                body = await request.read()  # aiohttp has already inflated a gzip body
                zipped = request.headers.get("content-encoding") == "gzip"
                if zipped and body[:2] == b"\x1f\x8b":
                    body = gzip.decompress(body)
                raw = gzip.compress(body) if zipped else body
                self.sent.append(Sent(request.method, request.path_qs, dict(request.headers), body))
                headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
                async with session.request(request.method, self.target + request.path_qs, data=raw,
                                           headers=headers) as resp:
                    data = await resp.read()
                    out = {k: v for k, v in resp.headers.items()
                           if k.lower() not in ("content-length", "transfer-encoding", "connection")}
                    return web.Response(status=resp.status, body=data, headers=out)

            app.router.add_route("*", "/{tail:.*}", forward)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            ready.set()
            await self._stop.wait()
            await runner.cleanup()
            await session.close()

        self._loop.run_until_complete(main())
