"""`make bench`: Bonito against direct-to-upstream and LiteLLM's proxy, in one run.

Starts a fake OpenAI-compatible upstream, then each gateway in turn with one
worker (Bonito; Bonito with a Redis-backed limit check when `redis-server` is
installed; LiteLLM's proxy, installed on first use into bench/.litellm-venv),
and measures for each: start to healthy, idle RSS, latency at concurrency 1
(non-stream and stream, interleaved with direct requests so the difference is
the added latency), requests/s at concurrency 32, RSS after load, and every
non-2xx or malformed answer. Prints tables and writes bench/results/latest.json.

Usage: python bench/run.py [--quick] [--skip-litellm] [--skip-redis] [--only bonito,litellm]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script, from any venv

import measure
import observability_cost
import procs
import report
import servers

GATEWAYS = ("bonito", "bonito+redis", "litellm")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description="Benchmark Bonito against direct and LiteLLM.")
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--skip-litellm", action="store_true", help="do not install or run LiteLLM")
    parser.add_argument("--skip-redis", action="store_true", help="do not run the bonito+redis variant")
    parser.add_argument("--only", default="", help=f"comma list of gateways among {', '.join(GATEWAYS)}")
    parser.add_argument("--requests", type=int, help="latency samples per target (non-stream)")
    parser.add_argument("--duration", type=float, help="seconds of each throughput run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--skip-writer", action="store_true", help="do not measure the usage writer's capacity")
    parser.add_argument("--skip-agent", action="store_true",
                        help="do not measure the agent beside bonito serve (latency, req/s, ingest, spool)")
    parser.add_argument("--skip-agent-backlog", action="store_true",
                        help="do not measure the agent delivering an hour's spooled usage")
    parser.add_argument("--skip-smart", action="store_true",
                        help="do not measure the smart router's scorer (time per prompt, memory, lazy loading)")
    parser.add_argument("--out", type=Path, default=servers.BENCH_DIR / "results" / "latest.json")
    return parser.parse_args(argv)


def choose_gateways(args: argparse.Namespace) -> list[str]:
    """The gateways this run measures, in order."""
    chosen = [g.strip() for g in args.only.split(",") if g.strip()] or list(GATEWAYS)
    unknown = [g for g in chosen if g not in GATEWAYS]
    if unknown:
        raise SystemExit(
            f"--only: unknown gateway(s) {', '.join(unknown)}; choose among {', '.join(GATEWAYS)}"
        )
    if args.skip_litellm:
        chosen = [g for g in chosen if g != "litellm"]
    if args.skip_redis:
        chosen = [g for g in chosen if g != "bonito+redis"]
    return chosen


def settings(args: argparse.Namespace) -> measure.Settings:
    """Durations and sample counts; --quick makes everything short."""
    base = measure.Settings.quick() if args.quick else measure.Settings()
    if args.requests:
        base.latency_requests = args.requests
        base.stream_requests = max(1, args.requests // 2)
    if args.duration:
        base.duration_s = args.duration
    base.concurrency = args.concurrency
    return base


def cpu_layout(no_pin: bool) -> tuple[measure.Layout, str]:
    """Pin the gateway to its own CPU when there are two or more."""
    cpus = sorted(os.sched_getaffinity(0))
    if no_pin or len(cpus) < 2:
        return measure.Layout(None, None), f"{len(cpus)} CPU(s), no pinning: all processes share them"
    side, gateway = {cpus[0]}, {cpus[1]}
    text = (
        f"{len(cpus)} CPUs: gateway pinned to CPU {cpus[1]}; "
        f"fake upstream, redis and load generator share CPU {cpus[0]}"
    )
    return measure.Layout(side, gateway), text


def background_cpu_pct(seconds: float = 1.0) -> float:
    """CPU used on this machine by others just before the run, in % of one CPU."""
    before = procs.cpu_busy_seconds()
    time.sleep(seconds)
    after = procs.cpu_busy_seconds()
    return 100 * (sum(after.values()) - sum(before.values())) / seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 unless it could not run at all."""
    args = parse_args(argv)
    gateways = choose_gateways(args)
    layout, layout_text = cpu_layout(args.no_pin)
    config = settings(args)
    children = procs.Children()
    background = background_cpu_pct()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bonito-bench-") as tmp:
        bench = measure.Bench(config, layout, children, Path(tmp))
        try:
            targets = bench.run(gateways)
        except KeyboardInterrupt:
            print("\ninterrupted; stopping every child process", file=sys.stderr)
            children.stop_all()
            return 130
        finally:
            children.stop_all()
    writer = None
    if not args.skip_writer:
        import usage_writer

        print("measuring the usage writer (SQLite, PostgreSQL, spool)…", file=sys.stderr)
        writer = usage_writer.measure(20_000 if args.quick else 100_000, skip_postgres=False)
    observability = observability_cost.measure(2_000 if args.quick else 20_000)
    backlog = None
    if not args.skip_agent_backlog:
        import agent_backlog

        print("measuring the agent's backlog delivery…", file=sys.stderr)
        backlog = agent_backlog.run(50_000 if args.quick else agent_backlog.HOUR_AT_100_RPS,
                                    ("sqlite",) if args.quick else ("sqlite", "postgresql"))
    results = {
        "observability": observability,
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full",
            "layout": layout_text,
            "cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "settings": config.as_dict(),
            "elapsed_s": round(time.perf_counter() - started, 1),
            "background_cpu_pct_before": round(background, 1),
            "notes": bench.notes,
        },
        "targets": targets,
        "usage_writer": writer,
        "agent_backlog": backlog,
    }
    if background > 20:
        bench.notes.insert(
            0, f"the machine was busy before the run (~{background:.0f}% of a CPU in use by others)"
        )
    print(report.render(results))
    print("\n" + observability_cost.render(observability))
    if backlog is not None:
        print("\n" + agent_backlog.render(backlog))
    if not args.skip_agent:
        import agent as agent_bench

        print("\nthe agent beside bonito serve (same control plane, same upstream):")
        agent_bench.main(["--quick"] if args.quick else [])
    if not args.skip_smart:
        # its own process: it pins itself to one core and measures its own memory
        print("\nthe smart router's built-in scorer, over the dev prompts:", flush=True)
        subprocess.run([sys.executable, str(servers.BENCH_DIR / "smart_scorer.py"),
                        "--repeat", "1" if args.quick else "3"], check=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(measure.dumps(results))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
