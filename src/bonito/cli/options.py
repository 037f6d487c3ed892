"""Options shared by many commands, and the per-invocation state the root command sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from bonito.cli.client import Api

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the /api document as JSON, nothing else on stdout.")]


@dataclass
class State:
    profile: str = "default"
    quiet: bool = False


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, State) else State()


def api(ctx: typer.Context) -> Api:
    """The /api client for this invocation's profile."""
    return Api(state(ctx).profile)


def quiet(ctx: typer.Context) -> bool:
    return state(ctx).quiet
