"""CPU each request pays for metrics, traces and json log lines, measured in-process.

Drives the server's real pieces (Telemetry, the gateway's observed target
hooks, the ASGI request observer) around a stand-in app that does what a
served request does for them: admit, start, finish and release one upstream
call, submit one usage record, answer 200. Each mode runs in its own process
(prometheus-client picks its multiprocess mode at import), and its CPU time
per request is compared with the same loop without observation:

    .venv/bin/python bench/observability_cost.py [--requests 20000]

`make bench` runs it too (bench/run.py) and reports it beside the gateways.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

MODES = {
    "baseline": "no observation (the loop's own cost, subtracted from the others)",
    "metrics": "metrics, one worker (in-memory registry)",
    "metrics-workers": "metrics with --workers N (multiprocess files)",
    "metrics+traces": "metrics and a span per request and per upstream call (OTLP exporter, batched)",
    "metrics+json-logs": "metrics and a json line per request",
}
BUDGET_US = 15.0  # the target for metrics on the request path


def run_mode(mode: str, requests: int) -> float:
    """CPU microseconds per request in this process, for `mode` (set up before anything is imported)."""
    from bonito.config.schema import BreakerConfig
    from bonito.routing.hooks import TargetHooks
    from bonito.routing.plan import Plan
    from bonito.snapshot import ModelEntry
    from bonito.usage.pricing import Price
    from bonito.usage.record import UsageRecord

    class Provider:
        type = "openai"

    target = ModelEntry("gpt-4o-mini", "local-openai", Provider(), "gpt-4o-mini",  # type: ignore[arg-type]
                        Price(Decimal("0.15"), Decimal("0.60")))
    plan = Plan([target], "failover", "bench", route="chat", breaker=BreakerConfig(), breaker_route="chat")
    hooks: Any = TargetHooks()
    telemetry: Any = None
    if mode != "baseline":
        from bonito.gateway.observed import observed_hooks
        from bonito.observability.telemetry import Telemetry

        telemetry = Telemetry()
        hooks = observed_hooks(hooks, telemetry)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        admission = await hooks.admit(plan, target)
        hooks.started(target)
        hooks.finished(plan, target, admission, "ok", 1.0, False)
        hooks.released(target, None)
        record = UsageRecord("req_1", "default", "key_1", "ci", "chat", model_used="gpt-4o-mini",
                             provider="local-openai", prompt_tokens=12, completion_tokens=30,
                             cost_usd=Decimal("0.0000198"), latency_ms=3.2, attempts=1,
                             decision={"route": "chat", "attempts": [{"outcome": "ok"}]})
        if telemetry is not None:
            telemetry.record(record)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-request-id", b"req_1")]})
        await send({"type": "http.response.body", "body": b"{}"})

    served: Any = (telemetry.wrap(app) if telemetry is not None else None) or app
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions",
             "headers": [(b"x-request-id", b"req_1")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    async def loop(n: int) -> float:
        for _ in range(min(2000, n)):  # warm up: label children, code paths
            await served(scope, receive, send)
        start = time.process_time()
        for _ in range(n):
            await served(scope, receive, send)
        return (time.process_time() - start) / n * 1e6

    us = asyncio.run(loop(requests))
    if telemetry is not None and telemetry.tracing is not None:
        telemetry.tracing.provider.shutdown()
    return us


def _env(mode: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PROMETHEUS_MULTIPROC"))}
    if mode == "metrics-workers":
        shared = workdir / "metrics"
        shared.mkdir(exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    if mode == "metrics+traces":
        # nothing listens there, and the first export is due after the run: only the request path is timed
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
        env["OTEL_BSP_SCHEDULE_DELAY"] = "600000"
        env["OTEL_BSP_MAX_QUEUE_SIZE"] = "1000000"
    return env


def measure(requests: int = 20_000) -> dict[str, Any]:
    """Every mode, each in a fresh process; CPU µs per request and the cost above the baseline."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bonito-obs-bench-") as tmp:
        for mode in MODES:
            proc = subprocess.run([sys.executable, __file__, "--mode", mode, "--requests", str(requests)],
                                  env=_env(mode, Path(tmp)), capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                out[mode] = {"error": proc.stderr.strip()[-500:]}
                continue
            out[mode] = {"cpu_us_per_request": json.loads(proc.stdout.strip().splitlines()[-1])["us"]}
    base = out.get("baseline", {}).get("cpu_us_per_request")
    for mode, row in out.items():
        if base is not None and "cpu_us_per_request" in row:
            row["added_us"] = round(row["cpu_us_per_request"] - base, 2)
            row["cpu_us_per_request"] = round(row["cpu_us_per_request"], 2)
        row["what"] = MODES[mode]
    return out


def render(rows: dict[str, Any]) -> str:
    lines = [f"observability cost per request (CPU µs, in-process; target for metrics ≤ {BUDGET_US:g} µs)",
             f"  {'mode':<20} {'total':>8} {'added':>8}  what"]
    for mode, row in rows.items():
        if "error" in row:
            lines.append(f"  {mode:<20} {'n/a':>8} {'n/a':>8}  {row['error'][:80]}")
            continue
        lines.append(f"  {mode:<20} {row['cpu_us_per_request']:>8.2f} {row.get('added_us', 0):>8.2f}  {row['what']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=list(MODES))
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    if args.mode is None:
        print(render(measure(args.requests)))
        return
    if args.mode == "metrics+json-logs":
        from bonito.observability.logs import configure_logging

        configure_logging("json", "info")
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(open(os.devnull, "w"))  # open for the life of the process
    else:
        logging.disable(logging.WARNING)
    print(json.dumps({"us": run_mode(args.mode, args.requests)}), file=sys.__stdout__)


if __name__ == "__main__":
    main()
