"""A durable, bounded, append-only spool of usage records on disk, drained oldest first.

One spool serves both sides: `bonito serve`'s usage writer spools here while its database is
down, and the agent keeps here every record until the control plane has stored it.

Records are JSON lines in segment files named `<prefix>-<time_ns>-<pid>.jsonl` (0600, in a 0700
directory), so their names sort in the order they were opened, across processes. A writer holds
an exclusive `flock` on the segment it appends to and fsyncs each batch: a kill -9 loses at most
the batch being written (a torn last line has no newline and is never read). A reader claims a
segment by taking that lock without waiting, so it never reads a segment another live process is
still writing; the lock dies with its process, so a killed writer's segment is drained by whoever
comes next. A segment is deleted only after its records were delivered (the receiver skips ids it
already has, so a segment delivered twice after a crash writes nothing twice). Past `max_bytes`
new records are refused, with one log line, until the spool has drained to half.

All methods do blocking file I/O: call them from a worker thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

log = logging.getLogger("bonito.usage")

DEFAULT_MAX_BYTES = 2 << 30  # ~2.8M records of ~750 bytes: an hour at 100 req/s is 360k
DEFAULT_SEGMENT_BYTES = 8 << 20


@dataclass(slots=True)
class Segment:
    """A claimed segment: its path, its complete lines, and the open locked file (closed on ack/release)."""

    path: Path
    lines: list[bytes]
    _fh: IO[bytes]
    _records: list[dict[str, Any]] | None = field(default=None)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The lines as JSON objects; a line that cannot be read is skipped with a log line."""
        if self._records is None:
            self._records = list(_parse(self.lines, self.path))
        return self._records


class DiskSpool:
    """Append-only segments under `directory`, at most `max_bytes` in all."""

    def __init__(self, directory: Path, *, prefix: str = "usage", max_bytes: int = DEFAULT_MAX_BYTES,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
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

    @property
    def size(self) -> int:
        """Bytes on disk, as far as this process knows."""
        return self._bytes

    # -- writing ----------------------------------------------------------
    def append(self, records: list[dict[str, Any]]) -> int:
        """Append and fsync; returns how many were kept (the rest are dropped when the spool is full)."""
        return self.append_lines([orjson.dumps(r) for r in records])

    def append_lines(self, lines: list[bytes]) -> int:
        """`append` for records already encoded (one JSON document each, no newline inside)."""
        if not lines:
            return 0
        data = b"\n".join(lines) + b"\n"
        if self._bytes + len(data) > self.max_bytes:
            self.dropped += len(lines)
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
        self.records += len(lines)
        if self._active_size >= self.segment_bytes:
            self.seal()
        return len(lines)

    def _segment(self) -> IO[bytes]:
        if self._active is None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.directory / f"{self.prefix}-{time.time_ns():020d}-{os.getpid()}.jsonl"
            fh = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
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
            self._active_size = 0

    # -- draining ---------------------------------------------------------
    def _candidates(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.glob(f"{self.prefix}-*.jsonl") if p != self._active_path)
        except OSError:
            return []

    def claim_oldest(self, *, own: bool = False) -> Segment | None:
        """The oldest segment no live process is writing, locked for this reader; None when there is none.
        With `own`, this process's segment being written is sealed and claimed when nothing older is left."""
        segment = self._claim()
        if segment is None and own and self._active is not None:
            self.seal()
            segment = self._claim()
        return segment

    def _claim(self) -> Segment | None:
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
            data = fh.read()
            end = data.rfind(b"\n") + 1  # past it: a torn line from a killed writer, never acknowledged
            return Segment(path, [line for line in data[:end].split(b"\n") if line.strip()], fh)
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
        self.records = max(0, self.records - len(segment.lines))
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


def _parse(lines: list[bytes], path: Path) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            log.error("skipping an unreadable spooled usage line in %s", path.name)
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out
