"""Usage sinks: where finished requests' records go, off the request path.

`DatabaseSink` batches records into the store from a background task. While
the database is down, records wait in memory; past a bound they are spooled
to disk (JSON lines under the data dir) and replayed when it returns. Inserts
skip ids already stored, so a replay never writes a record twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

import orjson

from bonito.usage.record import UsageRecord

log = logging.getLogger("bonito.usage")

InsertFn = Callable[[Sequence[UsageRecord]], Awaitable[None]]


class UsageSink(Protocol):
    def submit(self, record: UsageRecord) -> None:
        """Hand over a finished request's record; never blocks, never raises."""
        ...

    async def start(self) -> None: ...

    async def close(self, timeout_s: float = 20.0) -> None:
        """Write (or spool) everything pending."""
        ...


class DatabaseSink:
    """Batching writer with an in-memory buffer and a disk spool for outages."""

    def __init__(
        self,
        insert: InsertFn,
        spool_dir: Path,
        *,
        batch_size: int = 500,
        interval_s: float = 0.2,
        memory_bound: int = 20_000,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._insert = insert
        self._spool_dir = spool_dir
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._memory_bound = memory_bound
        self._max_backoff_s = max_backoff_s
        self._buffer: deque[UsageRecord] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.healthy = True
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def submit(self, record: UsageRecord) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    async def start(self) -> None:
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._run(), name="bonito-usage-writer")

    async def _run(self) -> None:
        failures = 0
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s if failures == 0 else
                                       min(self._max_backoff_s, 0.1 * 2**failures))
            self._wake.clear()
            try:
                await self._flush_buffer()
                await self._replay_spool()
            except Exception as exc:
                failures += 1
                if self.healthy:
                    log.warning("usage store unavailable, holding records: %s", type(exc).__name__)
                self.healthy = False
                self._spool_overflow()
                continue
            if not self.healthy:
                log.info("usage store is back; pending records written")
            self.healthy = True
            failures = 0

    async def _flush_buffer(self) -> None:
        while self._buffer:
            batch = [self._buffer[i] for i in range(min(self._batch_size, len(self._buffer)))]
            await self._insert(batch)
            for _ in batch:
                self._buffer.popleft()
            self.written += len(batch)

    def _spool_overflow(self) -> None:
        excess = len(self._buffer) - self._memory_bound
        if excess > 0:
            # keep the newest in memory; the oldest go to disk first
            self._spool([self._buffer.popleft() for _ in range(excess)])

    def _spool(self, records: list[UsageRecord]) -> None:
        if not records:
            return
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        path = self._spool_dir / f"usage-{os.getpid()}.jsonl"
        with path.open("ab") as fh:
            for r in records:
                fh.write(orjson.dumps(r.to_json()) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        log.info("spooled %d usage records to %s", len(records), path)

    async def _replay_spool(self) -> None:
        for path in sorted(self._spool_dir.glob("usage-*.jsonl")):
            claimed = path.with_suffix(f".{os.getpid()}.replaying")
            try:
                path.rename(claimed)  # atomic claim: one worker replays a file
            except OSError:
                continue
            await self._replay_file(claimed)
        for claimed in sorted(self._spool_dir.glob(f"usage-*.{os.getpid()}.replaying")):
            await self._replay_file(claimed)

    async def _replay_file(self, path: Path) -> None:
        records = []
        for line in (await asyncio.to_thread(path.read_bytes)).splitlines():
            if line.strip():
                try:
                    records.append(UsageRecord.from_json(orjson.loads(line)))
                except (orjson.JSONDecodeError, TypeError, ValueError):
                    log.error("skipping an unreadable spooled usage line in %s", path.name)
        for i in range(0, len(records), self._batch_size):
            await self._insert(records[i : i + self._batch_size])
        await asyncio.to_thread(path.unlink, True)
        if records:
            log.info("replayed %d spooled usage records", len(records))

    async def close(self, timeout_s: float = 20.0) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        try:
            await asyncio.wait_for(self._flush_buffer(), timeout_s)
        except Exception as exc:
            log.warning("usage store unavailable at shutdown (%s); spooling %d records",
                        type(exc).__name__, len(self._buffer))
        self._spool(list(self._buffer))
        self._buffer.clear()


class MemorySink:
    """Keeps records in a list (config-only tests and embedding)."""

    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def submit(self, record: UsageRecord) -> None:
        self.records.append(record)

    async def start(self) -> None:
        return None

    async def close(self, timeout_s: float = 20.0) -> None:
        return None
