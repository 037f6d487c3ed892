"""The `bonito` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bonito", description="Bonito: one gateway for AI across clouds.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the gateway, control plane and dashboard")
    serve.add_argument("--config", metavar="FILE", help="bonito.yaml: config-as-code source of truth")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--log-format", default="text", choices=["text", "json"],
                       help="json: every line on stdout and stderr is one JSON object")
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser("migrate", help="migrate the database (BONITO_DATABASE_URL) to the newest schema")
    migrate.add_argument("--log-format", default="text", choices=["text", "json"])
    migrate.set_defaults(run=_migrate)

    check = sub.add_parser("check-config", help="validate a bonito.yaml and exit")
    check.add_argument("file")
    check.set_defaults(run=_check)

    from bonito.cli.admin import add_commands

    add_commands(sub)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from bonito.cli.serve import serve

    return serve(args)


def _migrate(args: argparse.Namespace) -> int:
    from bonito.cli.migrate import migrate_command

    return migrate_command(args)


def _check(args: argparse.Namespace) -> int:
    from bonito.config.loader import ConfigError, load_config

    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{args.file}: ok ({len(cfg.providers)} providers, {len(cfg.models)} models, "
          f"{len(cfg.keys)} keys, {len(cfg.routes)} routes)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Command = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
