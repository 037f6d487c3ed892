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
    serve.set_defaults(run=_serve)

    agent = sub.add_parser("agent", help="run the gateway inside your network for one org (VPC agent)")
    agent.add_argument("--control-plane", metavar="URL")
    agent.add_argument("--token", metavar="bt-…")
    agent.add_argument("--token-file", metavar="FILE")
    agent.add_argument("--config", metavar="FILE", help="bonito.yaml with the providers' local credentials")
    agent.add_argument("--host", default="127.0.0.1")
    agent.add_argument("--port", type=int, default=8100)
    agent.add_argument("--state-dir", default=".bonito/agent")
    agent.add_argument("--sync-interval", type=float, default=30.0)
    agent.add_argument("--heartbeat-interval", type=float, default=60.0)
    agent.add_argument("--log-format", default="text", choices=["text", "json"])
    agent.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    agent.set_defaults(run=_agent)

    check = sub.add_parser("check-config", help="validate a bonito.yaml and exit")
    check.add_argument("file")
    check.set_defaults(run=_check)

    from bonito.cli.admin import add_commands

    add_commands(sub)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from bonito.cli.serve import serve

    return serve(args)


def _agent(args: argparse.Namespace) -> int:
    from bonito.agent.run import run_agent

    return run_agent(control_plane=args.control_plane, token=args.token, token_file=args.token_file,
                     config=args.config, host=args.host, port=args.port, state_dir=args.state_dir,
                     sync_interval=args.sync_interval, heartbeat_interval=args.heartbeat_interval,
                     log_format=args.log_format, log_level=args.log_level)


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
