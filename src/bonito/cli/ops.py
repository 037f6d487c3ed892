"""Operator commands: `serve`, `check-config`, `admin create`, `secrets rotate-master-key`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from bonito.cli.options import JsonOpt
from bonito.cli.output import emit_json


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(help="Start the gateway, control plane and dashboard.")(serve)
    app.command("check-config", help="Validate a bonito.yaml and exit (2 when invalid).")(check_config)
    admin = typer.Typer(help="Manage accounts directly in the database (on the server's machine).",
                        no_args_is_help=True)
    admin.command("create", help="Create an admin account (the first one, typically).")(admin_create)
    app.add_typer(admin, name="admin")
    secrets = typer.Typer(help="Manage encrypted credentials.", no_args_is_help=True)
    secrets.command("rotate-master-key", help="Re-encrypt every credential under a new key.")(rotate_master_key)
    app.add_typer(secrets, name="secrets")


def serve(
    config: Annotated[str | None, typer.Option("--config", metavar="FILE",
                                               help="bonito.yaml: config-as-code source of truth")] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    workers: Annotated[int, typer.Option("--workers")] = 1,
    log_level: Annotated[LogLevel, typer.Option("--log-level")] = LogLevel.info,
    log_format: Annotated[LogFormat, typer.Option("--log-format", help="text, or one JSON object a line")
                          ] = LogFormat.text,
) -> None:
    import argparse

    from bonito.cli.serve import serve as run

    raise typer.Exit(run(argparse.Namespace(config=config, host=host, port=port, workers=workers,
                                            log_level=log_level.value, log_format=log_format.value)))


def check_config(file: Annotated[str, typer.Argument(help="the bonito.yaml to check")],
                 json_out: JsonOpt = False) -> None:
    import sys

    from bonito.config.loader import ConfigError, load_config

    try:
        cfg = load_config(file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise typer.Exit(2) from None
    counts = {"providers": len(cfg.providers), "models": len(cfg.models), "keys": len(cfg.keys),
              "routes": len(cfg.routes)}
    if json_out:
        emit_json({"file": file, "ok": True, **counts})
    else:
        print(f"{file}: ok ({counts['providers']} providers, {counts['models']} models, "
              f"{counts['keys']} keys, {counts['routes']} routes)")


def admin_create(
    email: Annotated[str, typer.Option("--email")],
    password: Annotated[str | None, typer.Option(
        "--password", help="default: $BONITO_ADMIN_PASSWORD, else asked for")] = None,
    org: Annotated[str, typer.Option(
        "--org", help="org id/name to create or join as admin (default: 'default', the org of "
                      "config-as-code keys)")] = "default",
) -> None:
    from bonito.cli.admin import create_admin

    raise typer.Exit(create_admin(email, password, org))


def rotate_master_key(
    new_key: Annotated[str | None, typer.Option(
        "--new-key", help="the new key (64 hex chars or base64 of 32 bytes); default: generated")] = None,
) -> None:
    from bonito.cli.admin import rotate

    raise typer.Exit(rotate(new_key))

