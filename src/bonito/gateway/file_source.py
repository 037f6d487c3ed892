"""Config-as-code source (a `SnapshotSource`): builds snapshots from `bonito.yaml`, reloads on change.

A changed file (checked every `poll_s`, or at once on SIGHUP) is loaded,
validated and compiled beside the serving snapshot, then swapped in. An
invalid file keeps the old snapshot serving and logs why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from bonito.config.loader import ConfigError, load_config
from bonito.gateway.compile import compile_config
from bonito.snapshot import Snapshot
from bonito.snapshot.source import Serving

log = logging.getLogger("bonito.config")


class ConfigFileSource:
    def __init__(self, path: Path, poll_s: float = 1.0) -> None:
        self.path = path
        self.poll_s = poll_s
        self._stamp: tuple[int, int, int] | None = None
        self._version = 0
        self._kick = asyncio.Event()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def load(self, current: Snapshot | None = None) -> Snapshot:
        """Load and compile the file now; raises ConfigError if it is invalid."""
        self._stamp = self._stat()
        cfg = load_config(self.path)
        self._version += 1
        return compile_config(cfg, self._version, reuse=current)

    async def refresh(self, serving: Serving) -> None:
        serving.swap(self.load(serving.snapshot))

    def request_reload(self) -> None:
        """Reload at once (SIGHUP)."""
        self._kick.set()

    async def watch(self, serving: Serving) -> None:
        """Run forever: swap in a new snapshot whenever the file changes and is valid."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.poll_s)
            forced = self._kick.is_set()
            self._kick.clear()
            stamp = self._stat()
            if not forced and (stamp is None or stamp == self._stamp):
                continue
            try:
                snap = self.load(serving.snapshot)
            except ConfigError as exc:
                self._stamp = stamp
                log.error("config reload rejected, still serving version %d:\n%s", serving.snapshot.version, exc)
                continue
            except Exception:
                self._stamp = stamp
                log.exception("config reload failed, still serving version %d", serving.snapshot.version)
                continue
            serving.swap(snap)
            log.info("config reloaded: now serving version %d (%d models, %d keys, %d routes)",
                     snap.version, len(snap.models), len(snap.keys), len(snap.routes))
