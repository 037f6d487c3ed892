"""Load generator for the benchmark, run as its own process.

A minimal HTTP/1.1 keep-alive client (an asyncio protocol on uvloop with
httptools parsing) costs far less CPU per request than a general client such
as aiohttp, so the generator is not what limits the throughput measured.

It reads a JSON spec as its only argument and prints a JSON result:

- ``{"mode": "latency", "targets": [...], "stream": bool, "requests": N, "warmup": W}``:
  concurrency 1, requests sent to the targets in turn (round robin, the order
  rotating each round) so that drift on the machine hits every target alike.
- ``{"mode": "throughput", "targets": [one], "concurrency": C, "duration_s": D, "warmup_s": W}``:
  C connections each sending requests back to back; only requests completed
  in the window after the warm-up count.

Each target is ``{"name", "host", "port", "key", "model"}``; ``"path"`` is
optional. Every answer is checked: non-2xx statuses and bodies that are not a
well-formed completion (or a stream ending ``data: [DONE]``) are counted and
never count as served.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
import orjson
import uvloop

CHAT_PATH = "/v1/chat/completions"


@dataclass
class Reply:
    """What one request got."""

    status: int
    total_ns: int
    first_byte_ns: int
    valid: bool
    error: str = ""


@dataclass
class Tally:
    """Samples and counters for one target."""

    total_ns: list[int] = field(default_factory=list)
    first_byte_ns: list[int] = field(default_factory=list)
    ok: int = 0
    non_2xx: int = 0
    invalid: int = 0
    failed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    last_error: str = ""

    def add(self, reply: Reply) -> None:
        """Record one reply; only valid 2xx replies give latency samples."""
        if reply.error:
            self.failed += 1
            self.last_error = reply.error
            return
        if not 200 <= reply.status < 300:
            self.non_2xx += 1
            key = str(reply.status)
            self.statuses[key] = self.statuses.get(key, 0) + 1
            return
        if not reply.valid:
            self.invalid += 1
            return
        self.ok += 1
        self.total_ns.append(reply.total_ns)
        self.first_byte_ns.append(reply.first_byte_ns)

    def summary(self) -> dict[str, Any]:
        """Counters plus latency percentiles in milliseconds."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "non_2xx": self.non_2xx,
            "invalid": self.invalid,
            "failed": self.failed,
            "statuses": self.statuses,
            "total_ms": percentiles(self.total_ns),
            "first_byte_ms": percentiles(self.first_byte_ns),
        }
        if self.last_error:
            out["last_error"] = self.last_error
        return out


def percentiles(samples_ns: list[int]) -> dict[str, float] | None:
    """p50/p90/p99/mean/min/max of nanosecond samples, in ms (nearest rank)."""
    if not samples_ns:
        return None
    ordered = sorted(samples_ns)
    n = len(ordered)

    def rank(q: float) -> float:
        return ordered[min(n - 1, max(0, round(q * n + 0.5) - 1))] / 1e6

    return {
        "n": n,
        "p50": rank(0.50),
        "p90": rank(0.90),
        "p99": rank(0.99),
        "mean": sum(ordered) / n / 1e6,
        "min": ordered[0] / 1e6,
        "max": ordered[-1] / 1e6,
    }


def build_request(target: dict[str, Any], stream: bool) -> bytes:
    """The raw bytes of one chat completion request for the target."""
    payload: dict[str, Any] = {
        "model": target["model"],
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 16,
    }
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    body = orjson.dumps(payload)
    head = (
        f"POST {target.get('path', CHAT_PATH)} HTTP/1.1\r\n"
        f"Host: {target['host']}:{target['port']}\r\n"
        f"Authorization: Bearer {target['key']}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: */*\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection(asyncio.Protocol):
    """One keep-alive client connection that sends one request at a time."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._body: list[bytes] = []
        self.status = 0
        self.first_body_ns = 0
        self.keep_alive = True
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(ConnectionError("connection closed by server"))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if not self.first_body_ns:
            self.first_body_ns = time.perf_counter_ns()
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def close(self) -> None:
        """Close the socket."""
        if self._transport is not None:
            self._transport.close()

    async def send(self, raw: bytes, timeout_s: float) -> tuple[int, bytes]:
        """Send one request; return (start ns, body). Raises on timeout or a closed socket."""
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._body = []
        self.status = 0
        self.first_body_ns = 0
        timer = loop.call_later(timeout_s, self._fail, TimeoutError(f"no full answer in {timeout_s}s"))
        start = time.perf_counter_ns()
        self._transport.write(raw)
        try:
            await waiter
        finally:
            timer.cancel()
        return start, b"".join(self._body)


def is_valid(body: bytes, stream: bool) -> bool:
    """A stream must end with [DONE] and carry usage; a completion must have choices."""
    if stream:
        return body.rstrip().endswith(b"data: [DONE]") and b'"usage"' in body
    return b'"choices"' in body


class Client:
    """Sends requests to one target over one connection, reconnecting when needed."""

    def __init__(self, target: dict[str, Any], stream: bool, timeout_s: float) -> None:
        self.target = target
        self.stream = stream
        self.timeout_s = timeout_s
        self.raw = build_request(target, stream)
        self._conn: Connection | None = None

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(Connection, self.target["host"], self.target["port"]),
            self.timeout_s,
        )
        return conn

    async def request(self) -> Reply:
        """One request; errors come back as a Reply with ``error`` set."""
        try:
            if self._conn is None or self._conn.lost:
                self._conn = await self._connect()
            conn = self._conn
            start, body = await conn.send(self.raw, self.timeout_s)
            end = time.perf_counter_ns()
        except (OSError, TimeoutError, ConnectionError) as exc:
            self.close()
            return Reply(0, 0, 0, False, error=f"{type(exc).__name__}: {exc}")
        if not conn.keep_alive:
            self.close()
        first = (conn.first_body_ns or end) - start
        return Reply(conn.status, end - start, first, is_valid(body, self.stream))

    def close(self) -> None:
        """Drop the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def run_latency(spec: dict[str, Any]) -> dict[str, Any]:
    """Concurrency 1, round robin over the targets."""
    stream = bool(spec.get("stream"))
    timeout_s = float(spec.get("timeout_s", 10))
    clients = [Client(t, stream, timeout_s) for t in spec["targets"]]
    tallies = {c.target["name"]: Tally() for c in clients}
    for _ in range(int(spec.get("warmup", 20))):
        for client in clients:
            await client.request()
    for i in range(int(spec["requests"])):
        shift = i % len(clients)
        for client in clients[shift:] + clients[:shift]:
            tallies[client.target["name"]].add(await client.request())
    for client in clients:
        client.close()
    return {"mode": "latency", "stream": stream, "targets": {n: t.summary() for n, t in tallies.items()}}


async def run_throughput(spec: dict[str, Any]) -> dict[str, Any]:
    """C connections back to back for warm-up plus duration; count the window only."""
    target = spec["targets"][0]
    stream = bool(spec.get("stream"))
    timeout_s = float(spec.get("timeout_s", 10))
    concurrency = int(spec.get("concurrency", 32))
    tally = Tally()
    now = time.perf_counter_ns
    window_start = now() + int(float(spec.get("warmup_s", 1)) * 1e9)
    window_end = window_start + int(float(spec["duration_s"]) * 1e9)
    cpu_at_start: list[float] = []

    async def worker(client: Client) -> None:
        while now() < window_end:
            reply = await client.request()
            if now() >= window_start:
                if not cpu_at_start:
                    cpu_at_start.append(_cpu_seconds())
                tally.add(reply)
            if reply.error:
                await asyncio.sleep(0.01)  # don't spin on a dead target
        client.close()

    clients = [Client(target, stream, timeout_s) for _ in range(concurrency)]
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed = (now() - window_start) / 1e9
    cpu = _cpu_seconds() - (cpu_at_start[0] if cpu_at_start else _cpu_seconds())
    out = tally.summary()
    out.update(
        {
            "mode": "throughput",
            "concurrency": concurrency,
            "window_s": elapsed,
            "rps": tally.ok / elapsed if elapsed > 0 else 0.0,
            "loadgen_cpu_pct": 100.0 * cpu / elapsed if elapsed > 0 else 0.0,
        }
    )
    return out


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Run the spec given as argv[1] and print the JSON result."""
    spec = orjson.loads(sys.argv[1])
    runner = run_latency if spec["mode"] == "latency" else run_throughput
    result = uvloop.run(runner(spec))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
