"""`routing score`: the smart strategy's score per prompt, offline (no server, no network)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from bonito.cli.options import JsonOpt
from bonito.cli.output import CliError, emit_json, line

routing = typer.Typer(help="Smart routing, offline.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(routing, name="routing")


def _prompts(path: str) -> Iterator[tuple[Any, str]]:
    """(id, prompt) per JSON line; a line without an id is known by its line number."""
    stream = sys.stdin if path == "-" else _open(path)
    try:
        for n, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
            except ValueError:
                raise CliError(f"{path}:{n}: not a JSON object") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("prompt"), str):
                raise CliError(f"{path}:{n}: needs a string field \"prompt\"")
            yield doc.get("id", n), doc["prompt"]
    finally:
        if stream is not sys.stdin:
            stream.close()


def _open(path: str) -> Any:
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


@routing.command("score")
def score(
    file: Annotated[str, typer.Argument(help="JSON lines with `prompt` (and `id`); '-' for stdin")] = "-",
    threshold: Annotated[float | None, typer.Option(
        "--threshold", min=0, max=1, help="also report the share that would go to the strong model")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write {"id", "score"} per prompt: the score a `smart` route compares with its threshold."""
    from bonito.routing.complexity import complexity  # the built-in scorer the smart strategy uses

    items: list[dict[str, Any]] = []
    total = strong = 0
    for pid, prompt in _prompts(file):
        value = complexity(prompt)
        total += 1
        strong += threshold is not None and value >= threshold
        item = {"id": pid, "score": round(value, 6)}
        if json_out:
            items.append(item)  # one document at the end: nothing on stdout if a later line is bad
        else:
            line(json.dumps(item))
    share = strong / total if total else 0.0
    if json_out:
        doc: dict[str, Any] = {"items": items}
        if threshold is not None:
            doc.update(threshold=threshold, strong=strong, total=total, strong_share=share)
        emit_json(doc)
    elif threshold is not None:
        sys.stderr.write(f"{strong} of {total} prompts ({share * 100:.1f}%) score >= {threshold:g}: a smart "
                         "route sends them to its strong (most expensive) target first\n")
