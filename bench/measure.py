"""The measurements: one phase per server, the load generator run as a child process.

Each gateway is measured alone (started, measured, stopped) so that an idle
one never steals CPU from another; its latency runs interleave its requests
with direct requests to the upstream, so "added" compares like with like.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import procs
import report
import servers

LOAD_PY = Path(__file__).resolve().parent / "load.py"
Result = dict[str, Any]


class Unavailable(Exception):
    """A server that could not be measured; the bench reports it as n/a and goes on."""


@dataclass
class Settings:
    """Sample counts and durations."""

    latency_requests: int = 2000
    stream_requests: int = 1000
    warmup_requests: int = 100
    duration_s: float = 10.0
    warmup_s: float = 2.0
    concurrency: int = 32
    settle_s: float = 1.0
    request_timeout_s: float = 10.0
    litellm_install_timeout_s: float = 900.0

    @classmethod
    def quick(cls) -> Settings:
        """Short runs for a smoke test."""
        return cls(
            latency_requests=200,
            stream_requests=100,
            warmup_requests=20,
            duration_s=2.0,
            warmup_s=0.5,
            settle_s=0.5,
        )

    def as_dict(self) -> dict[str, Any]:
        """For the JSON file."""
        return dataclasses.asdict(self)


@dataclass
class Layout:
    """CPU sets: ``side`` for upstream, redis and load generator; ``gateway`` for the server measured."""

    side: set[int] | None
    gateway: set[int] | None


def dumps(data: Any) -> str:
    """Pretty JSON."""
    return json.dumps(data, indent=2, default=str) + "\n"


def _sum_errors(*tallies: Result | None) -> Result:
    total: Result = {"non_2xx": 0, "invalid": 0, "failed": 0, "statuses": {}}
    for tally in tallies:
        if not tally:
            continue
        for key in ("non_2xx", "invalid", "failed"):
            total[key] += int(tally.get(key, 0))
        for status, count in tally.get("statuses", {}).items():
            total["statuses"][status] = total["statuses"].get(status, 0) + count
        if tally.get("last_error"):
            total["last_error"] = tally["last_error"]
    return total


class Bench:
    """Runs every phase and collects one result per target."""

    def __init__(self, config: Settings, layout: Layout, children: procs.Children, workdir: Path) -> None:
        self.config = config
        self.layout = layout
        self.children = children
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir()
        self.notes: list[str] = []
        self.upstream: servers.ServerSpec | None = None
        self.upstream_child: procs.Child | None = None
        self.redis_child: procs.Child | None = None

    # ---- plumbing -------------------------------------------------------
    def _loadgen(self, spec: Result, timeout_s: float) -> Result:
        cpus = self.layout.side

        def pin() -> None:
            if cpus:
                os.sched_setaffinity(0, cpus)

        try:
            proc = subprocess.run(
                [sys.executable, str(LOAD_PY), json.dumps(spec)],
                capture_output=True,
                timeout=timeout_s,
                preexec_fn=pin if cpus else None,  # safe: the bench is single-threaded
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise Unavailable(f"load generator timed out after {timeout_s:.0f}s") from exc
        if proc.returncode != 0:
            raise Unavailable(f"load generator failed: {proc.stderr.decode(errors='replace')[-800:]}")
        result: Result = json.loads(proc.stdout)
        return result

    def _latency(self, targets: list[servers.ServerSpec], stream: bool, requests: int, warmup: int) -> Result:
        spec = {
            "mode": "latency",
            "targets": [t.target() for t in targets],
            "stream": stream,
            "requests": requests,
            "warmup": warmup,
            "timeout_s": self.config.request_timeout_s,
        }
        budget = 60 + (requests + warmup) * len(targets) * 0.1
        return dict(self._loadgen(spec, budget)["targets"])

    def _upstream_requests(self) -> int:
        assert self.upstream is not None
        _, body = procs.http_get(self.upstream.port, "/__stats")
        return int(json.loads(body)["requests"])

    def _throughput(self, spec: servers.ServerSpec, child: procs.Child) -> Result:
        assert self.upstream_child is not None
        c = self.config
        load = {
            "mode": "throughput",
            "targets": [spec.target()],
            "concurrency": c.concurrency,
            "duration_s": c.duration_s,
            "warmup_s": c.warmup_s,
            "timeout_s": c.request_timeout_s,
        }
        # the bench's own processes besides the server measured: upstream, redis (load generator apart)
        helpers = [h.pid for h in (self.upstream_child, self.redis_child) if h is not None and h is not child]
        cpu0, helpers_cpu0, up_req0 = (
            procs.tree_cpu_seconds(child.pid),
            sum(procs.tree_cpu_seconds(p) for p in helpers),
            self._upstream_requests(),
        )
        redis_port = spec.env.get("BENCH_REDIS_PORT")
        redis0 = _redis_calls(int(redis_port)) if redis_port else {}
        busy0, reaped0 = procs.cpu_busy_seconds(), _children_cpu_seconds()
        wall0 = time.perf_counter()
        result = self._loadgen(load, c.warmup_s + c.duration_s + 60)
        wall = time.perf_counter() - wall0
        busy1, loadgen_cpu = procs.cpu_busy_seconds(), _children_cpu_seconds() - reaped0
        cpu = procs.tree_cpu_seconds(child.pid) - cpu0
        helpers_cpu = sum(procs.tree_cpu_seconds(p) for p in helpers) - helpers_cpu0
        upstream_calls = self._upstream_requests() - up_req0
        if redis_port and upstream_calls:
            delta = {k: v - redis0.get(k, 0) for k, v in _redis_calls(int(redis_port)).items()}
            scripts = sum(v for k, v in delta.items() if k in ("evalsha", "eval", "fcall"))
            result["redis_calls_per_request"] = sum(delta.values()) / upstream_calls
            result["redis_scripts_per_request"] = scripts / upstream_calls
        result["upstream_calls"] = upstream_calls
        result["server_cpu_pct"] = 100 * cpu / wall
        result["helpers_cpu_pct"] = 100 * helpers_cpu / wall
        result["server_cpu_us_per_req"] = 1e6 * cpu / upstream_calls if upstream_calls else None
        self._note_foreign_cpu(spec.name, result, (busy0, busy1), wall, cpu, helpers_cpu + loadgen_cpu)
        if result.get("loadgen_cpu_pct", 0) > 90:
            self.notes.append(
                f"{spec.name}: load generator at {result['loadgen_cpu_pct']:.0f}% CPU; it may limit req/s"
            )
        return result

    def _note_foreign_cpu(
        self,
        name: str,
        result: Result,
        busy: tuple[dict[int, float], dict[int, float]],
        wall: float,
        server_cpu: float,
        side_cpu: float,
    ) -> None:
        """Record CPU used by processes outside the bench during a run, on the CPUs the run uses.

        ``server_cpu`` is the measured server's CPU time, ``side_cpu`` that of the
        upstream, redis and load generator. With pinning, each set of CPUs is
        checked against what the bench ran there; without it, all CPUs at once.
        """
        used = {i: busy[1][i] - busy[0].get(i, busy[1][i]) for i in busy[1]}
        layout = self.layout
        if layout.side and layout.gateway:
            side_used = sum(used.get(i, 0.0) for i in layout.side)
            gateway_used = sum(used.get(i, 0.0) for i in layout.gateway)
            result["gateway_cpu_busy_pct"] = 100 * gateway_used / wall
            if name == "direct":  # the server measured is the upstream, on the side CPUs
                relevant = side_used - server_cpu - side_cpu
            else:
                relevant = (side_used - side_cpu) + (gateway_used - server_cpu)
        else:
            relevant = sum(used.values()) - server_cpu - side_cpu
        foreign_pct = max(0.0, 100 * relevant / wall)
        result["foreign_cpu_pct"] = foreign_pct
        if foreign_pct > 10:
            self.notes.append(
                f"{name}: other processes used ~{foreign_pct:.0f}% of a CPU on the CPUs of its "
                "throughput run; its req/s is disturbed (rerun on a quiet machine)"
            )

    # ---- phases ---------------------------------------------------------
    def run(self, gateways: list[str]) -> dict[str, Result]:
        """Start the upstream, measure it, then each gateway; never raises for one gateway."""
        results = {"direct": self._measure_direct()}
        for name in gateways:
            print(f"measuring {name}...", file=sys.stderr)
            try:
                results[name] = self._measure_gateway(name)
            except Unavailable as exc:
                results[name] = {"status": "n/a", "reason": str(exc)}
                print(f"  {name}: n/a - {exc}", file=sys.stderr)
        return results

    def _measure_direct(self) -> Result:
        print("starting the fake upstream and measuring direct...", file=sys.stderr)
        spec = servers.upstream_spec(procs.free_port())
        child = self.children.spawn(
            spec.name, spec.argv, log_dir=self.logs, env=spec.full_env(), cpus=self.layout.side
        )
        try:
            start_s = procs.wait_healthy(child, spec.port, spec.health_path, spec.health_timeout_s)
        except RuntimeError as exc:
            raise SystemExit(f"the fake upstream did not start: {exc}") from exc
        self.upstream, self.upstream_child = spec, child
        time.sleep(self.config.settle_s)
        idle = procs.tree_rss_mb(child.pid)
        c = self.config
        try:
            non_stream = self._latency([spec], False, c.latency_requests, c.warmup_requests)["direct"]
            stream = self._latency([spec], True, c.stream_requests, c.warmup_requests)["direct"]
            throughput = self._throughput(spec, child)
        except Unavailable as exc:
            raise SystemExit(f"cannot measure the fake upstream: {exc}") from exc
        return {
            "status": "ok",
            "start_s": start_s,
            "idle_rss_mb": idle,
            "load_rss_mb": procs.tree_rss_mb(child.pid),
            "latency": {"non_stream": non_stream, "stream": stream},
            "throughput": throughput,
            "errors": _sum_errors(non_stream, stream, throughput),
        }

    def _gateway_spec(self, name: str) -> tuple[servers.ServerSpec, procs.Child | None]:
        """The server spec, plus a helper child (redis) to stop afterwards."""
        assert self.upstream is not None
        up, port, workdir = self.upstream.port, procs.free_port(), self.workdir / name.replace("+", "-")
        if name == "bonito":
            return servers.bonito_spec(name, workdir, port, up), None
        if name == "litellm":
            venv, why = servers.ensure_litellm(
                servers.BENCH_DIR / ".litellm-venv",
                self.config.litellm_install_timeout_s,
                servers.BENCH_DIR / "results" / "litellm-install.log",
            )
            if venv is None:
                raise Unavailable(f"LiteLLM could not be installed: {why}")
            return servers.litellm_spec(workdir, port, up, venv), None
        redis_port = procs.free_port()
        argv = servers.redis_argv(redis_port, workdir / "redis")
        if argv is None:
            raise Unavailable("redis-server is not on PATH")
        redis = self.children.spawn("redis", argv, log_dir=self.logs, cpus=self.layout.side)
        try:
            procs.wait_redis(redis_port, 10)
        except RuntimeError as exc:
            self.children.stop(redis)
            raise Unavailable(str(exc)) from exc
        spec = servers.bonito_spec(name, workdir, port, up, redis_url=f"redis://127.0.0.1:{redis_port}/0")
        spec.env["BENCH_REDIS_PORT"] = str(redis_port)
        self.redis_child = redis
        return spec, redis

    def _measure_gateway(self, name: str) -> Result:
        spec, helper = self._gateway_spec(name)
        child = self.children.spawn(
            spec.name,
            spec.argv,
            log_dir=self.logs,
            cwd=spec.cwd,
            env=spec.full_env(),
            cpus=self.layout.gateway,
        )
        try:
            result = self._measure_running(spec, child)
            if helper is not None:
                result["redis_commands"] = _redis_calls(int(spec.env["BENCH_REDIS_PORT"]))
                per_request = _get_float(result, "throughput", "redis_calls_per_request")
                scripts = _get_float(result, "throughput", "redis_scripts_per_request")
                if not result["redis_commands"]:
                    self.notes.append(f"{name}: Redis saw no commands; redis_url seems unused")
                elif per_request is not None:
                    self.notes.append(
                        f"{name}: under load, {scripts:.1f} script calls (EVALSHA) and {per_request:.1f} "
                        f"Redis commands in all (those run inside scripts included) per request; "
                        f"totals: {result['redis_commands']}"
                    )
            return result
        finally:
            shutdown_s = self.children.stop(child, timeout_s=35)
            print(f"  {name} stopped (SIGTERM to exit: {shutdown_s})", file=sys.stderr)
            if helper is not None:
                self.children.stop(helper)
                self.redis_child = None

    def _measure_running(self, spec: servers.ServerSpec, child: procs.Child) -> Result:
        assert self.upstream is not None
        try:
            start_s = procs.wait_healthy(child, spec.port, spec.health_path, spec.health_timeout_s)
        except RuntimeError as exc:
            raise Unavailable(str(exc)) from exc
        time.sleep(self.config.settle_s)
        idle = procs.tree_rss_mb(child.pid)
        for streaming in (False, True):  # a gateway that cannot answer is n/a, not fast
            smoke = self._latency([spec], streaming, 3, 0)[spec.name]
            if smoke["ok"] != 3:
                detail = {k: smoke.get(k) for k in ("non_2xx", "invalid", "failed", "statuses", "last_error")}
                raise Unavailable(
                    f"smoke requests (stream={streaming}) failed: {detail}\n{child.log_tail(8)}"
                )
        c = self.config
        pair = [self.upstream, spec]
        non_stream = self._latency(pair, False, c.latency_requests, c.warmup_requests)
        stream = self._latency(pair, True, c.stream_requests, c.warmup_requests)
        throughput = self._throughput(spec, child)
        lat = {"non_stream": non_stream[spec.name], "stream": stream[spec.name]}
        direct = {"non_stream": non_stream["direct"], "stream": stream["direct"]}
        added = {
            f"{kind}.{metric}": report.added_latency(lat, direct, kind, metric)
            for kind, metric in (
                ("non_stream", "total_ms"),
                ("stream", "first_byte_ms"),
                ("stream", "total_ms"),
            )
        }
        return {
            "status": "ok",
            "start_s": start_s,
            "idle_rss_mb": idle,
            "load_rss_mb": procs.tree_rss_mb(child.pid),
            "latency": lat,
            "paired_direct_latency": direct,
            "added_ms": added,
            "throughput": throughput,
            "errors": _sum_errors(lat["non_stream"], lat["stream"], throughput),
            "ready": _ready(spec.port),
        }


def _get_float(data: Result, *path: str) -> float | None:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _children_cpu_seconds() -> float:
    """CPU time of the bench's reaped children (the load generator runs are the only ones reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ready(port: int) -> Any:
    try:
        status, body = procs.http_get(port, "/health/ready")
        return {"status": status, "body": json.loads(body) if body.startswith(b"{") else body.decode()[:200]}
    except (OSError, ValueError) as exc:
        return {"error": str(exc)}


def _redis_calls(port: int) -> dict[str, int]:
    """Calls per command seen by the bench's redis, leaving out the bench's own PING/INFO."""
    try:
        raw = procs.redis_command(port, "INFO", "commandstats").decode(errors="replace")
    except OSError:
        return {}
    calls: dict[str, int] = {}
    for line in raw.splitlines():
        if line.startswith("cmdstat_") and "calls=" in line:
            name = line.split(":", 1)[0].removeprefix("cmdstat_")
            if name not in ("ping", "info"):
                calls[name] = int(line.split("calls=", 1)[1].split(",", 1)[0])
    return calls
