"""The `bonito` command: the server itself, and everything the dashboard does, from a terminal or a script.

Exit codes: 0 done, 1 refused or failed, 2 bad usage. Errors go to stderr, never as a traceback.
Only Typer is imported at start; each command imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from bonito.cli import (
    account,
    agent,
    catalog,
    chat,
    doctor,
    governance,
    keys,
    ops,
    org,
    policies,
    routing,
    usage,
)
from bonito.cli.options import State

app = typer.Typer(
    name="bonito",
    help="Bonito: one control plane and one OpenAI-compatible gateway for AI across clouds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Rich's help renderer would double the start-up time
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from bonito import __version__

        typer.echo(f"bonito {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[str, typer.Option("--profile", envvar="BONITO_PROFILE",
                                         help="Which saved session to use (one per server).")] = "default",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notes on stderr, only data and errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = State(profile=profile, quiet=quiet)


ops.register(app)
account.register(app)
catalog.register(app)
keys.register(app)
policies.register(app)
governance.register(app)
org.register(app)
agent.register(app)
chat.register(app)
usage.register(app)
routing.register(app)
doctor.register(app)


@app.command(help="Print the shell completion script: bonito completion bash > ~/.bonito-complete.bash")
def completion(shell: Annotated[str, typer.Argument(help="bash, zsh or fish")]) -> None:
    from typer._completion_shared import get_completion_script

    if shell not in ("bash", "zsh", "fish"):
        raise typer.BadParameter(f"{shell!r} is not one of bash, zsh, fish", param_hint="SHELL")
    typer.echo(get_completion_script(prog_name="bonito", complete_var="_BONITO_COMPLETE", shell=shell))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure ends as a line on stderr and an exit code, never a traceback."""
    from bonito.cli.output import CliError

    if "_BONITO_COMPLETE" in os.environ:  # the shell asks for completions
        from typer._completion_classes import completion_init

        completion_init()
    try:
        rv = app(args=list(argv) if argv is not None else None, prog_name="bonito", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except CliError as exc:
        sys.stderr.write(f"bonito: {exc.message}\n")
        return exc.code
    except (typer.Abort, EOFError):  # a prompt met the end of stdin
        sys.stderr.write("bonito: aborted: an answer was needed and stdin ended\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("bonito: interrupted\n")
        return 130
    except BrokenPipeError:  # `bonito logs | head`: the reader is gone, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):  # click's own errors: bad usage (2) and the like
            show()
            return code
        if os.environ.get("BONITO_DEBUG"):  # a bug: say what, not where, unless asked
            raise
        sys.stderr.write(f"bonito: unexpected error: {type(exc).__name__}: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
