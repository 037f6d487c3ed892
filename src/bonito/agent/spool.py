"""A durable, bounded, in-order spool of usage records on disk (one JSON document per line).

Records are appended to numbered segment files, each batch fsynced before `append` returns;
delivery reads the oldest unacknowledged batch and `ack` records how far it got (an atomically
replaced `ack` file), deleting segments once they are wholly delivered. A batch read but not
acknowledged (the process stopped, the control plane refused) is read again: the receiver is
idempotent on record id, so "at least once" here is "exactly once" there.

A kill -9 can cut the last line short; it is cut off at the next start. Past `max_bytes` the
spool refuses new records (one log line, and `full` is reported in the heartbeat).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bonito.agent.state import write_private

log = logging.getLogger("bonito.agent")

DEFAULT_MAX_BYTES = 2 * 1024**3  # ~3.5M records: an hour at 100 req/s is ~360k
DEFAULT_SEGMENT_BYTES = 8 * 1024**2


@dataclass(frozen=True, slots=True)
class Cursor:
    """Just past the last record of a batch: segment number and byte offset."""

    segment: int
    offset: int


class Spool:
    """Not thread-safe: one caller at a time (the reporter serialises its calls)."""

    def __init__(self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        self.dir = directory
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.full = False
        self._out: BinaryIO | None = None
        self._acked = self._read_ack()
        segments = self._segments()
        if segments:
            self._repair(segments[-1])
        self._write_seg = segments[-1] if segments else max(1, self._acked.segment)
        self._bytes = sum(self._path(s).stat().st_size for s in segments)
        self.depth = sum(self._count(s) for s in segments)

    # -- files --------------------------------------------------------------
    def _path(self, segment: int) -> Path:
        return self.dir / f"{segment:012d}.jsonl"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.dir.glob("*.jsonl") if p.stem.isdigit())

    def _read_ack(self) -> Cursor:
        try:
            seg, off = (self.dir / "ack").read_text().split()
            return Cursor(int(seg), int(off))
        except (FileNotFoundError, ValueError):
            return Cursor(0, 0)

    def _repair(self, segment: int) -> None:
        """Cut a line a crash left unfinished (it was never acknowledged to anyone)."""
        path = self._path(segment)
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with path.open("r+b") as fh:
                fh.truncate(end)
                os.fsync(fh.fileno())
            log.warning("spool: cut an unfinished record from %s", path.name)

    def _count(self, segment: int) -> int:
        data = self._path(segment).read_bytes()
        start = self._acked.offset if segment == self._acked.segment else 0
        return 0 if segment < self._acked.segment else data.count(b"\n", start)

    # -- writing ------------------------------------------------------------
    def append(self, lines: list[bytes]) -> int:
        """Append records (each one line, no newline inside) durably; the number kept."""
        if not lines:
            return 0
        data = b"".join(line + b"\n" for line in lines)
        if self._bytes + len(data) > self.max_bytes:
            if not self.full:
                log.error("spool full (%d MB under %s): new usage records are dropped until the control "
                          "plane takes the backlog", self.max_bytes // 1024**2, self.dir)
            self.full = True
            return 0
        self.full = False
        out = self._writer()
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
        self._bytes += len(data)
        self.depth += len(lines)
        if out.tell() >= self.segment_bytes:
            out.close()
            self._out = None
            self._write_seg += 1
        return len(lines)

    def _writer(self) -> BinaryIO:
        if self._out is None:
            fd = os.open(self._path(self._write_seg), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._out = os.fdopen(fd, "ab")
        return self._out

    # -- delivery -----------------------------------------------------------
    def read(self, max_records: int) -> tuple[list[bytes], Cursor | None]:
        """The oldest unacknowledged records (up to `max_records`) and the cursor that acks them."""
        for seg in self._segments():
            if seg < self._acked.segment:
                continue
            start = self._acked.offset if seg == self._acked.segment else 0
            with self._path(seg).open("rb") as fh:
                fh.seek(start)
                lines: list[bytes] = []
                pos = start
                while len(lines) < max_records:
                    line = fh.readline()
                    if not line.endswith(b"\n"):
                        break
                    pos += len(line)
                    if line.strip():
                        lines.append(line.rstrip(b"\n"))
            if lines:
                return lines, Cursor(seg, pos)
            if seg != self._write_seg:  # wholly delivered and closed: move past it
                self._drop(seg)
        return [], None

    def ack(self, cursor: Cursor, count: int) -> None:
        """Everything before `cursor` is delivered."""
        write_private(self.dir / "ack", f"{cursor.segment} {cursor.offset}".encode())
        self._acked = cursor
        self.depth = max(0, self.depth - count)
        if cursor.segment != self._write_seg and cursor.offset >= self._path(cursor.segment).stat().st_size:
            self._drop(cursor.segment)

    def _drop(self, segment: int) -> None:
        path = self._path(segment)
        size = path.stat().st_size
        path.unlink()
        self._bytes -= size
        if self._acked.segment <= segment:
            self._acked = Cursor(segment + 1, 0)
            write_private(self.dir / "ack", f"{segment + 1} 0".encode())

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
