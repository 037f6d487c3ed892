"""Idle database load of one worker: statements per second while nobody calls anything.

Runs the whole server in-process (`Platform`, full mode, a fresh SQLite store), lets it settle, then
counts every statement its engines send for `--seconds` with a SQLAlchemy event listener. Reported
twice: every statement, and those reading `control_state` (following the config version).

    .venv/bin/python bench/idle_db_load.py [--seconds 20] [--redis] [--database-url URL]

`--redis` starts a local redis-server and sets REDIS_URL: replicas then learn of changes by notice
and poll only as a fallback; so do they on PostgreSQL (`--database-url postgresql+asyncpg://…`, an
empty database) by LISTEN/NOTIFY. `--src DIR` runs another checkout's code (e.g. one from before a change).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


async def measure(seconds: float, redis_url: str | None, workdir: Path, database_url: str | None) -> dict[str, Any]:
    from sqlalchemy import event

    from bonito.config.settings import Settings

    platform_module = importlib.import_module("bonito.platform")
    settings = Settings(data_dir=workdir, redis_url=redis_url, database_url=database_url)
    platform = platform_module.Platform(settings)
    counts = {"all": 0, "control_state": 0}
    counting = False

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if counting:
            counts["all"] += 1
            if "control_state" in statement:
                counts["control_state"] += 1

    for engine in {id(e): e for e in (platform.engine, platform.usage_engine)}.values():
        event.listen(engine.sync_engine, "before_cursor_execute", count)
    await platform.startup()
    try:
        await asyncio.sleep(3.0)  # start-up reads and the first compile are not idle load
        counting = True
        await asyncio.sleep(seconds)
        counting = False
    finally:
        await platform.shutdown()
    return {
        "redis": redis_url is not None,
        "database": platform.engine.dialect.name,
        "seconds": seconds,
        "statements_per_s": round(counts["all"] / seconds, 2),
        "version_reads_per_s": round(counts["control_state"] / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--database-url", help="an empty database to use (default: a fresh SQLite file)")
    parser.add_argument("--src", type=Path, help="run the bonito package found under this directory")
    args = parser.parse_args()
    if args.src is not None:
        sys.path.insert(0, str(args.src.resolve()))
    workdir = Path(tempfile.mkdtemp(prefix="bonito-idle-"))
    redis = None
    try:
        redis_url = None
        if args.redis:
            redis, redis_url = _start_redis(workdir)
        os.environ.pop("REDIS_URL", None)
        result = asyncio.run(measure(args.seconds, redis_url, workdir, args.database_url))
        print(json.dumps(result))
    finally:
        if redis is not None:
            redis.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
