"""Usage sinks: where finished requests' records go, off the request path.

`DatabaseSink` batches records into the store from a background task. Memory is
bounded: past `memory_bound` waiting records (the store is slow), and at least
every second while the store is down, records move to a durable spool on disk
(`bonito.usage.spool`), which the writer drains, oldest first, once it keeps up.
Inserts skip ids already stored, so a replay never writes a record twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from bonito.usage.record import UsageRecord
from bonito.usage.spool import DiskSpool

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
    """Batching writer with a bounded in-memory buffer and a durable disk spool."""

    def __init__(
        self,
        insert: InsertFn,
        spool_dir: Path,
        *,
        batch_size: int = 1000,
        interval_s: float = 0.2,
        memory_bound: int = 10_000,
        outage_spool_s: float = 1.0,
        max_backoff_s: float = 5.0,
        spool_max_bytes: int = 2 << 30,
    ) -> None:
        self._insert = insert
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._memory_bound = memory_bound
        self._outage_spool_s = outage_spool_s
        self._max_backoff_s = max_backoff_s
        self.spool = DiskSpool(spool_dir, max_bytes=spool_max_bytes)
        self._buffer: deque[UsageRecord] = deque()
        self._wake = asyncio.Event()
        self._spill = asyncio.Event()
        self._spool_lock = asyncio.Lock()  # one thread at a time in the spool's files
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._inserting_since: float | None = None  # when the insert in flight began
        self.healthy = True
        self.written = 0

    @property
    def buffered(self) -> int:
        """Records waiting in this process's memory."""
        return len(self._buffer)

    @property
    def pending(self) -> int:
        """Records not yet in the store: waiting in memory or spooled on disk."""
        return len(self._buffer) + self.spool.records

    def submit(self, record: UsageRecord) -> None:
        self._buffer.append(record)
        n = len(self._buffer)
        if n >= self._batch_size:
            self._wake.set()
        if n > self._memory_bound:
            self._spill.set()

    async def start(self) -> None:
        await asyncio.to_thread(self.spool.scan)
        if self.spool.records:
            log.info("%d spooled usage records found; writing them", self.spool.records)
        self._tasks = [asyncio.create_task(self._write_loop(), name="bonito-usage-writer"),
                       asyncio.create_task(self._spill_loop(), name="bonito-usage-spiller")]

    # -- the writer ---------------------------------------------------------
    async def _write_loop(self) -> None:
        failures = 0
        while not self._closing:
            delay = self._interval_s if failures == 0 else min(self._max_backoff_s, 0.1 * 2 ** failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            try:
                await self._drain_spool()
                await self._flush_buffer()
            except Exception as exc:
                failures += 1
                if self.healthy:
                    log.warning("usage store unavailable, spooling records: %s", type(exc).__name__)
                self.healthy = False
                self._spill.set()
                continue
            if not self.healthy:
                log.info("usage store is back; spooled records are being written")
            self.healthy = True
            failures = 0

    async def _flush_buffer(self, deadline: float | None = None) -> None:
        while self._buffer and (deadline is None or time.monotonic() < deadline):
            # the batch leaves the buffer before the await: only this task owns it from here
            batch = [self._buffer.popleft() for _ in range(min(self._batch_size, len(self._buffer)))]
            try:
                await self._timed_insert(batch)
            except BaseException:
                # not written (or unknown: a replay skips what was): keep it durably
                await self._to_spool(batch)
                raise
            self.written += len(batch)

    async def _timed_insert(self, batch: Sequence[UsageRecord]) -> None:
        self._inserting_since = time.monotonic()
        try:
            await self._insert(batch)
        finally:
            self._inserting_since = None

    @property
    def _stalled(self) -> bool:
        """An insert has hung for a while (a locked or unreachable store not yet timed out)."""
        since = self._inserting_since
        return since is not None and time.monotonic() - since > 2 * self._outage_spool_s

    async def _drain_spool(self) -> None:
        """Write spooled segments, oldest first, while the store keeps up with live traffic."""
        while not self._closing and len(self._buffer) < self._batch_size:
            async with self._spool_lock:
                segment = await asyncio.to_thread(self.spool.claim_oldest)
                if segment is None and self.spool.records > 0:
                    await asyncio.to_thread(self.spool.seal)  # our own open segment, now drained too
                    segment = await asyncio.to_thread(self.spool.claim_oldest)
            if segment is None:
                return
            try:
                records = _parse(segment.records)
                for i in range(0, len(records), self._batch_size):
                    await self._timed_insert(records[i:i + self._batch_size])
            except BaseException:
                await asyncio.to_thread(self.spool.release, segment)
                raise
            async with self._spool_lock:
                await asyncio.to_thread(self.spool.ack, segment)
            self.written += len(records)
            log.info("wrote %d spooled usage records", len(records))

    # -- the spiller: memory stays bounded whatever the store does --------
    async def _spill_loop(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._spill.wait(), self._outage_spool_s)
            self._spill.clear()
            if not self.healthy or self._stalled:
                keep = 0  # the store is down or hung: nothing waits in memory longer than a second or two
            elif len(self._buffer) > self._memory_bound:
                keep = self._memory_bound // 2  # the store is behind: the oldest go to disk
            else:
                continue
            excess = len(self._buffer) - keep
            if excess > 0:
                await self._to_spool([self._buffer.popleft() for _ in range(excess)])

    async def _to_spool(self, records: list[UsageRecord]) -> None:
        if not records:
            return
        docs = [r.to_json() for r in records]
        async with self._spool_lock:
            await asyncio.to_thread(self.spool.append, docs)

    # -- shutdown -----------------------------------------------------------
    async def close(self, timeout_s: float = 20.0) -> None:
        """Write what waits in memory for up to half the time, then spool the rest; never longer."""
        deadline = time.monotonic() + timeout_s / 2
        hung = self._stalled  # an insert hanging now would hang the final flush too
        self._closing = True
        self._wake.set()
        self._spill.set()
        writer = self._tasks[0] if self._tasks else None
        if writer is not None and not hung:
            # the writer finishes the batch in flight and flushes what waits, within the budget; a batch cut
            # off would go to the spool and count only once the next start has written it
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(writer), max(0.1, deadline - time.monotonic()))
        for task in self._tasks:
            task.cancel()  # past the budget, a batch in flight goes to the spool (see _flush_buffer)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.healthy and not hung and self._buffer:
            try:
                await asyncio.wait_for(self._flush_buffer(deadline), max(0.1, deadline - time.monotonic()))
            except (Exception, asyncio.CancelledError) as exc:
                log.warning("usage store unavailable at shutdown (%s); spooling %d records",
                            type(exc).__name__, len(self._buffer))
        left = list(self._buffer)
        self._buffer.clear()
        await self._to_spool(left)
        await asyncio.to_thread(self.spool.close)
        if left or self.spool.records:
            log.info("%d usage records spooled under %s; the next start writes them",
                     self.spool.records, self.spool.directory)


def _parse(docs: list[dict[str, Any]]) -> list[UsageRecord]:
    records = []
    for doc in docs:
        try:
            records.append(UsageRecord.from_json(doc))
        except (TypeError, ValueError, KeyError):
            log.error("skipping a spooled usage record that cannot be read")
    return records


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
