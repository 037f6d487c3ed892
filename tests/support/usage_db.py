"""Read the usage records a server wrote to its embedded SQLite store."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def usage_rows(workdir: Path, where: str = "1=1", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    path = workdir / ".bonito" / "bonito.db"
    if not path.exists():
        return []
    con = sqlite3.connect(path, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(f"SELECT * FROM usage_records WHERE {where}", params)]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def wait_rows(workdir: Path, where: str, params: tuple[Any, ...] = (), *, count: int = 1,
              timeout_s: float = 10.0, check: Callable[[list[dict[str, Any]]], bool] | None = None
              ) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = usage_rows(workdir, where, params)
        if len(rows) >= count and (check is None or check(rows)):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"expected {count} usage rows where {where} {params}, found {rows}")
