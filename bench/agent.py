"""The VPC agent's numbers: its latency and throughput beside `bonito serve` on the same org
(the same control plane, the same fake upstream), ingest throughput into the control plane's
store, and the spool's write cost per record.

    .venv/bin/python bench/agent.py                 # SQLite
    .venv/bin/python bench/agent.py --database-url postgresql+asyncpg://…   # PostgreSQL
    .venv/bin/python bench/agent.py --quick

Prints one JSON document (also written to bench/results/agent.json).
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script, from any venv

import procs
import servers

BENCH_DIR = Path(__file__).resolve().parent
MODEL, UPSTREAM_KEY = servers.MODEL, servers.UPSTREAM_KEY


def _run_load(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(BENCH_DIR / "load.py"), orjson.dumps(spec).decode()],
                         capture_output=True, check=True, timeout=600)
    return dict(orjson.loads(out.stdout))


def _setup_org(base: str, upstream_port: int) -> tuple[str, str]:
    """An org with the fake upstream as provider, the bench model and a key; (bn- key, bt- token)."""
    http = httpx.Client(base_url=base, timeout=30)
    reg = http.post("/api/auth/register", json={"email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
                                                "password": "bench password 123", "org_name": "bench"}).json()
    h = {"authorization": f"Bearer {reg['access_token']}"}
    pid = http.post("/api/providers", headers=h, json={"name": "fake", "type": "openai", "credentials": {
        "base_url": f"http://127.0.0.1:{upstream_port}/v1", "api_key": UPSTREAM_KEY}}).json()["id"]
    http.post("/api/models", headers=h, json={"name": MODEL, "provider_id": pid, "model": MODEL,
                                              "input_cost_per_mtok": 0.15, "output_cost_per_mtok": 0.6})
    key = http.post("/api/gateway/keys", headers=h, json={"name": "bench", "requests_per_minute": 10_000_000})
    token = http.post(f"/api/orgs/{reg['org']['id']}/agent/token", headers=h, json={}).json()["token"]
    return str(key.json()["key"]), str(token)


def _ingest_rate(base: str, token: str, total: int, batch: int) -> float:
    http = httpx.Client(timeout=120)
    now = datetime.now(UTC).isoformat()
    sent, elapsed = 0, 0.0
    while sent < total:
        records = [{"id": uuid.uuid4().hex, "request_id": f"bench-{sent + i}", "key_id": "key_bench",
                    "model_requested": MODEL, "model_used": MODEL, "provider": "fake", "prompt_tokens": 12,
                    "completion_tokens": 9, "cost_usd": "0.0000072", "latency_ms": 1.5, "status": 200,
                    "created_at": now} for i in range(batch)]
        body = gzip.compress(orjson.dumps({"records": records}), compresslevel=5)
        started = time.perf_counter()
        r = http.post(base + "/api/agent/ingest", content=body, headers={
            "authorization": f"Bearer {token}", "content-encoding": "gzip", "content-type": "application/json"})
        elapsed += time.perf_counter() - started
        r.raise_for_status()
        sent += batch
    return sent / elapsed


def _spool_cost(records: int, per_batch: int) -> dict[str, float]:
    from bonito.usage.spool import DiskSpool

    line = orjson.dumps({"id": uuid.uuid4().hex, "request_id": "x" * 36, "model_used": MODEL,
                         "prompt_tokens": 12, "completion_tokens": 9, "cost_usd": "0.0000072", "status": 200})
    with tempfile.TemporaryDirectory() as d:
        spool = DiskSpool(Path(d))
        started = time.perf_counter()
        for _ in range(records // per_batch):
            spool.append_lines([line] * per_batch)
        write = time.perf_counter() - started
        started = time.perf_counter()
        while (segment := spool.claim_oldest(own=True)) is not None:
            spool.ack(segment)
        drain = time.perf_counter() - started
        spool.close()
    return {"append_us_per_record": 1e6 * write / records, "fsync_batch": per_batch,
            "drain_us_per_record": 1e6 * drain / records}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--ingest", type=int, default=100_000)
    p.add_argument("--database-url", default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.requests, args.duration, args.ingest = 300, 3.0, 20_000

    children = procs.Children()
    work = Path(tempfile.mkdtemp(prefix="bonito-bench-agent-"))
    results: dict[str, Any] = {"settings": vars(args)}
    command, env_extra = servers._bonito_command()
    env = {**os.environ, **env_extra}
    if args.database_url:
        env["BONITO_DATABASE_URL"] = args.database_url
    try:
        up_port, cp_port, ag_port = procs.free_port(), procs.free_port(), procs.free_port()
        up = servers.upstream_spec(up_port)
        procs.wait_healthy(children.spawn("upstream", up.argv, log_dir=work), up_port, "/health", 15)
        cp = children.spawn("control", [*command, "serve", "--port", str(cp_port)], log_dir=work, cwd=work, env=env)
        procs.wait_healthy(cp, cp_port, "/health", 60)
        base = f"http://127.0.0.1:{cp_port}"
        key, token = _setup_org(base, up_port)
        (work / "agent.yaml").write_text(f"providers:\n  fake:\n    type: openai\n    base_url: "
                                         f"http://127.0.0.1:{up_port}/v1\n    api_key: {UPSTREAM_KEY}\n")
        agent = children.spawn("agent", [*command, "agent", "--control-plane", base, "--token", token,
                                         "--config", str(work / "agent.yaml"), "--port", str(ag_port)],
                               log_dir=work, cwd=work, env=env)
        results["agent_start_s"] = procs.wait_healthy(agent, ag_port, "/health/ready", 30)
        time.sleep(3)  # the control plane's snapshot has the key too (it polls every 0.5 s)

        targets = [{"name": n, "host": "127.0.0.1", "port": port, "key": key, "model": MODEL}
                   for n, port in (("serve", cp_port), ("agent", ag_port),
                                   ("direct", up_port))]
        targets[2]["key"] = UPSTREAM_KEY
        lat = _run_load({"mode": "latency", "targets": targets, "requests": args.requests, "warmup": 100})
        results["latency_ms"] = {n: {"p50": round(t["total_ms"]["p50"], 3), "p99": round(t["total_ms"]["p99"], 3),
                                     "ok": t["ok"]} for n, t in lat["targets"].items()}
        direct = lat["targets"]["direct"]["total_ms"]["p50"]
        results["added_p50_ms"] = {n: round(lat["targets"][n]["total_ms"]["p50"] - direct, 3)
                                   for n in ("serve", "agent")}
        runs: dict[str, list[int]] = {"serve": [], "agent": []}
        for t in (targets[1], targets[0], targets[1], targets[0]):  # alternated: machine drift hits both
            spec = {"mode": "throughput", "targets": [t], "duration_s": args.duration, "warmup_s": 2,
                    "concurrency": 32}
            runs[str(t["name"])].append(round(_run_load(spec)["rps"]))
        results["throughput_rps"] = {name: max(r) for name, r in runs.items()}
        results["throughput_runs"] = runs
        results["ingest_records_per_s"] = round(_ingest_rate(base, token, args.ingest, 5000))
        results["store"] = "postgresql" if args.database_url else "sqlite"
        results["spool"] = _spool_cost(50_000 if args.quick else 200_000, 50)
    finally:
        children.stop_all()
    out = orjson.dumps(results, option=orjson.OPT_INDENT_2).decode()
    print(out)
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    (BENCH_DIR / "results" / "agent.json").write_text(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
