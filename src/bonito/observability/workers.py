"""Metrics across `bonito serve --workers N`: one directory per run where every worker writes its samples.

Called in the main process before the workers start (they inherit the
environment and so open the same directory); removed when the server exits.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def share_metrics(data_dir: Path, workers: int) -> Path | None:
    """With several workers, make this run's metrics directory and point the workers at it."""
    if workers <= 1:
        os.environ.pop(ENV, None)  # one process keeps its samples in memory (cheaper)
        return None
    root = data_dir / "metrics"
    _remove_dead_runs(root)
    run = root / f"run-{os.getpid()}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(run.resolve())
    return run


def unshare_metrics(run: Path | None) -> None:
    if run is not None:
        shutil.rmtree(run, ignore_errors=True)


def _remove_dead_runs(root: Path) -> None:
    """Directories of runs that were killed (no clean exit) would otherwise pile up."""
    if not root.is_dir():
        return
    for d in root.glob("run-*"):
        pid = d.name.removeprefix("run-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True
