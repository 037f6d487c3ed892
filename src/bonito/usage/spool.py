"""A durable, bounded, append-only spool of usage records on disk, drained oldest first.

Records are JSON lines in segment files named `<prefix>-<time_ns>-<pid>.jsonl`, so
their names sort in the order they were opened, across processes. A writer holds
an exclusive `flock` on the segment it appends to and fsyncs each batch: a kill -9
loses at most the batch being written (a torn last line is skipped on reading).
A reader claims a segment by taking that lock without waiting, so it never reads a
segment another live process is still writing; the lock dies with its process,
so a killed writer's segment is drained by whoever comes next. A segment is
deleted only after its records were delivered (the store skips ids it already
has, so a segment delivered twice after a crash writes nothing twice).

All methods do blocking file I/O: call them from a worker thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

log = logging.getLogger("bonito.usage")


@dataclass(slots=True)
class Segment:
    """A claimed segment: its path, its records, and the open locked file (closed on ack/release)."""

    path: Path
    records: list[dict[str, Any]]
    _fh: IO[bytes]


class DiskSpool:
    """Append-only segments under `directory`, at most `max_bytes` in all."""

    def __init__(self, directory: Path, *, prefix: str = "usage", max_bytes: int = 2 << 30,
                 segment_bytes: int = 8 << 20) -> None:
        self.directory = directory
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._active: IO[bytes] | None = None
        self._active_path: Path | None = None
        self._active_size = 0
        self._bytes = 0  # bytes spooled on disk, as far as this process knows (refreshed by `scan`)
        self.records = 0  # records on disk, likewise
        self.dropped = 0  # records refused because the spool was full
        self.full = False

    # -- writing ----------------------------------------------------------
    def append(self, records: list[dict[str, Any]]) -> int:
        """Append and fsync; returns how many were kept (the rest are dropped when the spool is full)."""
        if not records:
            return 0
        data = b"".join(orjson.dumps(r) + b"\n" for r in records)
        if self._bytes + len(data) > self.max_bytes:
            self.dropped += len(records)
            if not self.full:
                log.error("usage spool %s is full (%d MB): new usage records are being dropped until it drains",
                          self.directory, self.max_bytes >> 20)
            self.full = True
            return 0
        fh = self._segment()
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        self._active_size += len(data)
        self._bytes += len(data)
        self.records += len(records)
        if self._active_size >= self.segment_bytes:
            self.seal()
        return len(records)

    def _segment(self) -> IO[bytes]:
        if self._active is None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.directory / f"{self.prefix}-{time.time_ns():020d}-{os.getpid()}.jsonl"
            fh = path.open("ab")
            os.chmod(path, 0o600)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            self._active, self._active_path, self._active_size = fh, path, 0
        return self._active

    def seal(self) -> None:
        """Close the segment being written, so it can be drained (by this or any process)."""
        if self._active is not None:
            with contextlib.suppress(OSError):
                self._active.close()  # closing releases the lock
            self._active = None
            self._active_path = None

    # -- draining ---------------------------------------------------------
    def _candidates(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.glob(f"{self.prefix}-*.jsonl") if p != self._active_path)
        except OSError:
            return []

    def claim_oldest(self) -> Segment | None:
        """The oldest segment no live process is writing, locked for this reader; None when there is none."""
        for path in self._candidates():
            try:
                fh = path.open("rb")
            except FileNotFoundError:
                continue  # drained by another process meanwhile
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            if not path.exists():  # drained and deleted between our open and our lock
                fh.close()
                continue
            return Segment(path, list(_read(fh.read(), path)), fh)
        return None

    def ack(self, segment: Segment) -> None:
        """The segment's records are delivered: delete it."""
        size = 0
        with contextlib.suppress(OSError):
            size = segment.path.stat().st_size
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()
        segment._fh.close()
        self._bytes = max(0, self._bytes - size)
        self.records = max(0, self.records - len(segment.records))
        if self.full and self._bytes < self.max_bytes // 2:
            log.info("usage spool %s has room again (%d records dropped while full)", self.directory, self.dropped)
            self.full = False

    def release(self, segment: Segment) -> None:
        """Delivery failed: keep the segment for a later try."""
        segment._fh.close()

    def scan(self) -> None:
        """Count what is on disk (at start: segments left by an earlier run)."""
        total, lines = 0, 0
        for path in self._candidates():
            with contextlib.suppress(OSError):
                data = path.read_bytes()
                total += len(data)
                lines += data.count(b"\n")
        self._bytes, self.records = total + self._active_size, lines

    def close(self) -> None:
        self.seal()


def _read(data: bytes, path: Path) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            # a torn last line from a killed writer: that batch was never acknowledged as written
            log.error("skipping an unreadable spooled usage line in %s", path.name)
            continue
        if isinstance(doc, dict):
            yield doc
