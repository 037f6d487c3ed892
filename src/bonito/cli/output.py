"""What the CLI prints: one JSON document, a table or a line on stdout; notes and errors on stderr.

Rich is imported only when a table or a chart is drawn (a script piping `--json` never pays for it);
it turns colour off by itself when the stream is not a terminal and honours NO_COLOR.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class CliError(Exception):
    """A refusal or failure to report on stderr (no traceback), with the exit code it means."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def usage_error(message: str) -> CliError:
    """Bad usage (a missing or malformed option): exit code 2."""
    return CliError(message, code=2)


def emit_json(doc: Any) -> None:
    """The one JSON document a `--json` command prints."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def line(text: str = "") -> None:
    """A line on stdout, flushed at once (output is written as it arrives, also into a pipe)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def note(text: str, *, quiet: bool = False) -> None:
    """A message for the person at the terminal; never on stdout, so scripts read only data."""
    if not quiet:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


Column = tuple[str, str]  # (header, key in the row)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, title: str | None = None) -> None:
    """Rows as a table on a terminal; tab-separated lines with a header row when piped (easy to cut/awk)."""
    rows = list(rows)
    if not sys.stdout.isatty():
        line("\t".join(h for h, _ in columns))
        for row in rows:
            line("\t".join(cell(row.get(k)) for _, k in columns))
        return
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold")
    for header, _ in columns:
        t.add_column(header, overflow="fold")  # never cut an id: it is copied from here
    for row in rows:
        t.add_row(*(cell(row.get(k)) for _, k in columns))
    console().print(t)
