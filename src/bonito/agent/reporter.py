"""The agent's usage sink: records go to the durable spool, then to the control plane's
`POST /api/agent/ingest` as gzip JSON, oldest first.

`submit` only appends to a list (the request path does nothing else); every `SYNC_S` the list
is appended to the spool (`bonito.usage.spool`, the one `bonito serve`'s writer uses during a
database outage) and fsynced, so a kill -9 risks at most that much. A sender drains the spool
every `send_every_s`, or as soon as `BATCH` records wait; a backlog goes back to back in batches
of `MAX_BATCH`, `IN_FLIGHT` at once. A segment is deleted only once the control plane has stored
all of it; anything else (down, 5xx, 401) leaves it there to be sent again. A record
the control plane refuses outright (400/413/422: it will never take it) is isolated by splitting
its batch and set aside in `STATE_DIR/rejected-*.jsonl`, so it cannot block the records behind it.

What leaves the network is the usage record alone, with free-text errors reduced to the status
(an upstream's error message may quote the prompt).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import logging
import os
import time
from collections import deque
from collections.abc import Callable

import aiohttp
import orjson

from bonito.usage.record import UsageRecord
from bonito.usage.spool import DiskSpool, Segment

log = logging.getLogger("bonito.agent")

SYNC_S = 0.5
BATCH = 500  # steady state: a push every `send_every_s`, or as soon as this many records wait
MAX_BATCH = 5_000  # the control plane's limit per ingest request: a backlog goes in batches this size
IN_FLIGHT = 2  # a backlog's batches on the way at once: one is stored while the next is parsed
MAX_BACKOFF_S = 3.0  # while the control plane is away: its return is noticed within this
UNACCEPTABLE = (400, 413, 422)  # the batch itself is wrong: sending it again cannot help
# the gateway's own fixed phrases; anything else may come from an upstream and is not sent
_OWN_ERRORS = ("client disconnected before sending the whole body", "client disconnected mid-stream")


def outbound(record: UsageRecord) -> UsageRecord:
    """The record as it crosses to the control plane: its fields, no free text from upstreams."""
    error = record.error
    if error and error not in _OWN_ERRORS and not error.startswith("internal error:"):
        error = f"request failed with status {record.status}"
    decision = record.decision
    if isinstance(decision, dict) and isinstance(decision.get("attempts"), list):
        decision = {**decision, "attempts": [
            {**a, "error": None if not a.get("error") else f"attempt {a.get('outcome')}"}
            for a in decision["attempts"] if isinstance(a, dict)]}
    if error is record.error and decision is record.decision:
        return record
    return dataclasses.replace(record, error=error, decision=decision)


def encode(record: UsageRecord) -> bytes:
    """One spool line: the outbound record as JSON (Decimal cost as a string, times in ISO 8601)."""
    return orjson.dumps(outbound(record), default=str)


class AgentReporter:
    def __init__(self, spool: DiskSpool, url: str, token: Callable[[], str | None], *,
                 send_every_s: float = 10.0, http: Callable[[], aiohttp.ClientSession] | None = None) -> None:
        self.spool = spool
        self._url = url.rstrip("/") + "/api/agent/ingest"
        self._token = token
        self._send_every_s = send_every_s
        self._pending: list[UsageRecord] = []
        self._lock = asyncio.Lock()  # one thread at a time in the spool's files
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http_factory = http
        self._http: aiohttp.ClientSession | None = None
        self.requests = 0
        self.errors = 0
        self.delivered = 0
        self.reachable: bool | None = None
        self.drained_at: float | None = None  # wall time the spool was last wholly delivered

    @property
    def buffered(self) -> int:
        """Records waiting in memory for the next push."""
        return len(self._pending)

    @property
    def depth(self) -> int:
        """Records not yet stored by the control plane (in memory and on disk)."""
        return len(self._pending) + self.spool.records

    # -- UsageSink --------------------------------------------------------
    def submit(self, record: UsageRecord) -> None:
        self.requests += 1
        if record.status >= 500:
            self.errors += 1
        self._pending.append(record)  # encoded off the request path, in the spool writer's thread

    async def start(self) -> None:
        await asyncio.to_thread(self.spool.scan)  # records an earlier run left
        if self.spool.records:
            log.info("%d spooled usage records found; delivering them", self.spool.records)
        self._tasks = [asyncio.create_task(self._sync_loop(), name="bonito-agent-spool"),
                       asyncio.create_task(self._send_loop(), name="bonito-agent-ingest")]

    async def close(self, timeout_s: float = 20.0) -> None:
        """Spool everything pending (durably), then try once to deliver it; what stays is sent after
        the next start."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self._sync()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(min(timeout_s, 5.0)):
                await self._drain()
        await asyncio.to_thread(self.spool.close)
        if self._http is not None and self._http_factory is None:  # a shared session is its owner's to close
            await self._http.close()

    # -- spool ------------------------------------------------------------
    async def _sync(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            async with self._lock:
                await asyncio.to_thread(self._write, batch)
        except BaseException:
            self._pending[:0] = batch  # not on disk: keep them for the next try
            raise
        if self.spool.records >= BATCH:
            self._wake.set()

    def _write(self, batch: list[UsageRecord]) -> None:
        lines = []
        for record in batch:
            try:
                lines.append(encode(record))
            except TypeError:
                log.exception("a usage record could not be encoded")
        self.spool.append_lines(lines)

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(SYNC_S)
            try:
                await self._sync()
            except OSError:
                log.exception("usage records could not be spooled")

    # -- delivery ---------------------------------------------------------
    async def _send_loop(self) -> None:
        failures = 0
        last = time.monotonic()
        while True:
            if failures:  # backing off: a full batch waiting is no reason to knock sooner
                await asyncio.sleep(min(MAX_BACKOFF_S, 0.5 * 2**failures))
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(0.0, last + self._send_every_s - time.monotonic()))
            self._wake.clear()
            last = time.monotonic()
            try:
                await self._drain()
            except Exception as exc:
                failures += 1
                if self.reachable is not False:
                    log.warning("usage not delivered (%s); %d records kept in the spool", _why(exc), self.depth)
                self.reachable = False
                continue
            if self.reachable is False:
                log.info("control plane reachable again; spooled usage delivered")
            self.reachable, failures = True, 0

    async def _drain(self) -> None:
        """Deliver every spooled record, oldest segment first, back to back with up to `IN_FLIGHT`
        batches on the way (the next is compressed here and parsed there while one is stored). A
        segment is deleted once all its batches are stored; on any failure the segments not yet
        wholly stored stay for the next try."""
        claimed: deque[tuple[Segment, list[asyncio.Task[None]]]] = deque()
        try:
            while True:
                async with self._lock:
                    segment = await asyncio.to_thread(self.spool.claim_oldest, own=True)
                if segment is None:
                    break
                posts: list[asyncio.Task[None]] = []
                claimed.append((segment, posts))
                for part in _batches(segment.lines):
                    body = await asyncio.to_thread(_gzip, part)
                    while len(running := [t for _, ts in claimed for t in ts if not t.done()]) >= IN_FLIGHT:
                        await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                        await self._ack_stored(claimed)
                    posts.append(asyncio.create_task(self._deliver(part, body)))
                await self._ack_stored(claimed)
            for _, posts in claimed:
                await asyncio.gather(*posts)
            await self._ack_stored(claimed)
        except BaseException:
            for segment, posts in claimed:
                for t in posts:
                    t.cancel()
                await asyncio.gather(*posts, return_exceptions=True)
                await asyncio.to_thread(self.spool.release, segment)
            raise
        self.drained_at = time.time()

    async def _ack_stored(self, claimed: deque[tuple[Segment, list[asyncio.Task[None]]]]) -> None:
        """Delete the oldest segments whose batches were all stored; a failed batch raises here."""
        while claimed and all(t.done() for t in claimed[0][1]):
            segment, posts = claimed[0]
            for t in posts:
                t.result()
            async with self._lock:
                await asyncio.to_thread(self.spool.ack, segment)
            claimed.popleft()

    async def _deliver(self, lines: list[bytes], body: bytes) -> None:
        """POST the records; a batch the control plane cannot take is split until the record it
        refuses is found and set aside (ingest is idempotent: parts sent twice are stored once)."""
        token = self._token()
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
                   "Authorization": f"Bearer {token or ''}"}
        async with self._session().post(self._url, data=body, headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=60)) as resp:
            status = resp.status
        if status == 200:
            self.delivered += len(lines)
        elif status not in UNACCEPTABLE:
            raise IngestRefused(status)
        elif len(lines) == 1:
            await asyncio.to_thread(self._set_aside, lines, status)
        else:
            half = len(lines) // 2
            for part in (lines[:half], lines[half:]):
                await self._deliver(part, await asyncio.to_thread(_gzip, part))

    def _set_aside(self, lines: list[bytes], status: int) -> None:
        path = self.spool.directory.parent / f"rejected-{int(time.time())}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as fh:
            fh.write(b"".join(line + b"\n" for line in lines))
        log.error("the control plane refused a usage record (%d); kept in %s", status, path)

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = self._http_factory() if self._http_factory else aiohttp.ClientSession()
        return self._http


class IngestRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"the control plane answered {status}")
        self.status = status


def _batches(lines: list[bytes]) -> list[list[bytes]]:
    return [lines[i:i + MAX_BATCH] for i in range(0, len(lines), MAX_BATCH)]


def _gzip(lines: list[bytes]) -> bytes:
    return gzip.compress(b'{"records":[' + b",".join(lines) + b"]}", compresslevel=5)


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, IngestRefused) else type(exc).__name__
