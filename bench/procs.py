"""Child processes for the benchmark: spawn, wait for health, measure, stop.

Every child runs in its own session (process group), so stopping it also
stops whatever it forked (uvicorn workers, LiteLLM's helpers). All children
are tracked and stopped on exit, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A spawned process and where its output goes."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    spawned_at: float

    @property
    def pid(self) -> int:
        """The process id (also its process group id)."""
        return self.proc.pid

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the child's output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Children:
    """Spawns children and guarantees they are stopped."""

    def __init__(self) -> None:
        self._live: list[Child] = []
        atexit.register(self.stop_all)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_dir: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        cpus: set[int] | None = None,
    ) -> Child:
        """Start argv in a new session, output to ``log_dir/name.log``, pinned to cpus if given."""
        log_path = log_dir / f"{name}.log"
        log = log_path.open("wb")

        def pin() -> None:
            if cpus:
                os.sched_setaffinity(0, cpus)

        spawned_at = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=pin if cpus else None,  # safe: the bench is single-threaded
        )
        log.close()
        child = Child(name, proc, log_path, spawned_at)
        self._live.append(child)
        return child

    def stop(self, child: Child, timeout_s: float = 10.0) -> float | None:
        """SIGTERM the child's group, SIGKILL after timeout; the seconds it took to exit."""
        if child in self._live:
            self._live.remove(child)
        if child.proc.poll() is not None:
            _kill_group(child.pid, signal.SIGKILL)  # leftovers of a dead leader
            return None
        started = time.perf_counter()
        _kill_group(child.pid, signal.SIGTERM)
        try:
            child.proc.wait(timeout_s)
            took: float | None = time.perf_counter() - started
        except subprocess.TimeoutExpired:
            took = None
        _kill_group(child.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(5)
        return took

    def stop_all(self) -> None:
        """Stop every child still running, newest first."""
        for child in reversed(list(self._live)):
            self.stop(child, timeout_s=5.0)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def http_get(port: int, path: str, timeout_s: float = 1.0) -> tuple[int, bytes]:
    """GET http://127.0.0.1:port/path; (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_healthy(child: Child, port: int, path: str, timeout_s: float) -> float:
    """Poll until GET path answers 200; seconds from spawn. Raises RuntimeError otherwise."""
    deadline = child.spawned_at + timeout_s
    last = "no answer"
    while time.perf_counter() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(
                f"{child.name} exited with {child.proc.returncode} before it was healthy:\n{child.log_tail()}"
            )
        try:
            status, _ = http_get(port, path, timeout_s=0.5)
            if status == 200:
                return time.perf_counter() - child.spawned_at
            last = f"HTTP {status}"
        except OSError as exc:
            last = type(exc).__name__
        time.sleep(0.005)
    raise RuntimeError(
        f"{child.name} not healthy on {path} within {timeout_s:.0f}s ({last}):\n{child.log_tail()}"
    )


def wait_redis(port: int, timeout_s: float) -> None:
    """Wait until a Redis server answers PING on port."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        with contextlib.suppress(OSError):
            if redis_command(port, "PING").startswith(b"+PONG"):
                return
        time.sleep(0.02)
    raise RuntimeError(f"redis-server did not answer PING within {timeout_s:.0f}s")


def redis_command(port: int, *args: str) -> bytes:
    """Send one command in RESP and return the raw reply (enough for PING and INFO)."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(payload.encode())
        chunks = [sock.recv(65536)]
        if chunks[0].startswith(b"$"):  # bulk string: read until its announced length
            size = int(chunks[0].split(b"\r\n", 1)[0][1:])
            while sum(len(c) for c in chunks) < size + len(str(size)) + 5:
                more = sock.recv(65536)
                if not more:
                    break
                chunks.append(more)
        return b"".join(chunks)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of the process and all its descendants, in MiB (VmRSS summed)."""
    total_kb = 0
    for p in _descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


def tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process and its descendants so far."""
    ticks = 0
    for p in _descendants(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _CLOCK_TICKS


def cpu_busy_seconds() -> dict[int, float]:
    """Busy (non-idle, non-iowait) CPU seconds so far, per CPU, from /proc/stat."""
    busy: dict[int, float] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        ticks = [int(f) for f in fields]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        busy[int(name[3:])] = (sum(ticks[:8]) - idle) / _CLOCK_TICKS
    return busy
