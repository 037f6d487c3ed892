"""`bonito serve`: validate, migrate, then run uvicorn with graceful shutdown."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import uvicorn

from bonito.cache.settings import CacheSettingsError, cache_from_env
from bonito.config.loader import ConfigError, load_config
from bonito.config.settings import Settings
from bonito.observability.logs import configure_logging
from bonito.observability.workers import share_metrics, unshare_metrics

# SIGTERM: stop accepting, let in-flight requests and streams finish, then flush usage.
GRACEFUL_SHUTDOWN_S = 20


def serve(args: argparse.Namespace) -> int:
    log_config = configure_logging(getattr(args, "log_format", "text"), args.log_level)
    if args.config:
        path = Path(args.config).resolve()
        try:
            load_config(path)
        except ConfigError as exc:
            print(f"bonito: invalid config\n{exc}", file=sys.stderr)
            return 2
        os.environ["BONITO_CONFIG_FILE"] = str(path)
    else:
        os.environ.pop("BONITO_CONFIG_FILE", None)
        try:
            cache_from_env(os.environ.get("BONITO_CACHE"))
        except CacheSettingsError as exc:
            print(f"bonito: invalid config\n{exc}", file=sys.stderr)
            return 2
    os.environ.setdefault("BONITO_LOG_LEVEL", args.log_level.upper())
    os.environ.setdefault("BONITO_PUBLIC_URL", _local_url(args.host, args.port))  # for hints printed at start
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.workers > 1 or not args.config:
        # workers must not race each other to migrate; full mode reads its config from the database
        _migrate_once(settings)
    # uvicorn re-raises SIGTERM after its graceful shutdown; a clean stop exits 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    metrics_dir = share_metrics(settings.data_dir, args.workers)
    try:
        _run(args, log_config)
    finally:
        unshare_metrics(metrics_dir)
    return 0


def _run(args: argparse.Namespace, log_config: dict[str, object]) -> None:
    uvicorn.run(
        "bonito.platform:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers if args.workers > 1 else None,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=args.log_level,
        log_config=log_config,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
    )


def _local_url(host: str, port: int) -> str:
    """Where this machine reaches the server: a wildcard bind is reached on the loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _migrate_once(settings: Settings) -> None:
    """Run migrations in the main process so workers do not race; a down DB is not fatal."""
    from sqlalchemy import text

    from bonito.store.db import make_engine, migrate

    async def run() -> None:
        engine = make_engine(settings.effective_database_url)
        try:
            async with asyncio.timeout(15):  # reachable? (a down database must not hold the start)
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            # no timeout here: a data migration on a large store may take a while, and workers must
            # not start (and race each other to migrate) before it is done
            await migrate(engine)
            os.environ["BONITO_MIGRATED"] = "1"
        except Exception as exc:
            logging.getLogger("bonito").warning(
                "database unavailable at start (%s); the gateway serves and writes usage later",
                type(exc).__name__)
        finally:
            await engine.dispose()

    asyncio.run(run())
