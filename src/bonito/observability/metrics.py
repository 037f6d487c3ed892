"""Prometheus metrics: what each request did, upstream failures, breakers, and the server's state.

Request metrics are derived from the usage record, once per request, at the
place it is submitted (`observe`). With `bonito serve --workers N` every worker
writes its samples to memory-mapped files in one per-run directory
(prometheus-client's multiprocess mode, chosen by `PROMETHEUS_MULTIPROC_DIR`
before prometheus-client is imported), and a scrape answered by any worker
adds up every worker's files. No label holds a key, a user or a prompt.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from bonito import __version__
from bonito.usage.record import UsageRecord

# Seconds: a gateway answers in milliseconds from a cache, in seconds from a model, minutes at worst.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# What a usage record's `cache` says → the `kind` label of bonito_cache_hits_total.
CACHE_KINDS = {"hit": "exact", "semantic-hit": "semantic"}


def multiprocess_dir() -> str | None:
    """The directory workers share their samples through, when running several workers."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _Children(NamedTuple):
    """One (model, provider, status)'s series, resolved once: labels() on every request costs more."""

    requests: Any
    duration: Any
    ttft: Any
    tokens_in: Any
    tokens_out: Any
    cost: Any


class Metrics:
    """Every Bonito metric family, in this process's registry (or the shared multiprocess files)."""

    def __init__(self) -> None:
        self.shared_dir = multiprocess_dir()
        # In multiprocess mode values live in the files; the families are registered nowhere and a
        # scrape reads the files. Otherwise this instance's own registry holds them.
        self.registry = None if self.shared_dir else CollectorRegistry()
        reg = self.registry
        self.requests = Counter("bonito_requests", "Gateway requests answered, by the status the client got",
                                ["model", "provider", "status"], registry=reg)
        self.duration = Histogram("bonito_request_duration_seconds", "Time to answer a gateway request "
                                  "(a stream: to its last chunk)", ["model"], buckets=DURATION_BUCKETS,
                                  registry=reg)
        self.ttft = Histogram("bonito_time_to_first_token_seconds", "Time to a streamed answer's first chunk",
                              ["model"], buckets=TTFT_BUCKETS, registry=reg)
        self.tokens = Counter("bonito_tokens", "Tokens metered, input (prompt) and output (completion)",
                              ["model", "type"], registry=reg)
        self.cost = Counter("bonito_cost_usd", "Cost of answered requests in USD", ["model"], registry=reg)
        self.upstream_errors = Counter("bonito_upstream_errors", "Failed upstream calls (retries and "
                                       "failovers included)", ["provider"], registry=reg)
        self.cache_hits = Counter("bonito_cache_hits", "Requests answered from the response cache", ["kind"],
                                  registry=reg)
        self.refusals = Counter("bonito_limit_refusals", "Requests refused by rate limits and budgets, by "
                                "reason (rate_limit_exceeded, budget_exceeded, limits_unavailable)", ["reason"],
                                registry=reg)
        self.breaker_open = Gauge("bonito_circuit_breaker_open", "1 while a route target's circuit breaker "
                                  "is open (or half-open, awaiting its probe)", ["route", "target"],
                                  registry=reg, multiprocess_mode="livemostrecent")
        # pending = every worker's memory (summed) + the spool directory they share (counted once): the two
        # parts are kept apart and bonito_usage_pending_records is added up when a scrape renders them
        self.buffered = Gauge("bonito_usage_buffered_records", "Usage records waiting in memory to be written",
                              registry=reg, multiprocess_mode="livesum")
        self.spooled_records = Gauge("bonito_usage_spooled_records", "Usage records spooled to disk, waiting "
                                     "for the store", registry=reg, multiprocess_mode="livemax")
        self._spool_count = SpoolCount()
        if reg is not None:
            reg.register(_Pending(self.buffered, self.spooled_records))
        self.spooled = Gauge("bonito_usage_spooled_bytes", "Usage records spooled to disk, waiting for the "
                             "store (bytes of JSON lines)", registry=reg, multiprocess_mode="livemax")
        self.snapshot_version = Gauge("bonito_snapshot_version", "Version of the config snapshot served",
                                      registry=reg, multiprocess_mode="livemin")
        self.snapshot_age = Gauge("bonito_snapshot_age_seconds", "Seconds since the snapshot served was "
                                  "taken into service", registry=reg, multiprocess_mode="livemax")
        self.store_up = Gauge("bonito_store_up", "1 when a store the server uses answers (database, redis)",
                              ["store"], registry=reg, multiprocess_mode="livemostrecent")
        self.build_info = Gauge("bonito_build_info", "1, labelled with the version of Bonito running", ["version"],
                                registry=reg, multiprocess_mode="livemax")
        self.build_info.labels(__version__).set(1)
        self._children: dict[tuple[str, str, int], _Children] = {}
        self._seen_version: int | None = None
        self._since = time.monotonic()

    # -- the request path (keep it cheap: see bench/metrics_cost.py) ------
    def observe(self, r: UsageRecord) -> None:
        """Count one finished request from its usage record."""
        model = model_label(r)
        key = (model, r.provider or "", r.status)
        c = self._children.get(key)
        if c is None:
            c = self._children[key] = self._resolve(*key)
        c.requests.inc()
        c.duration.observe(r.latency_ms / 1000)
        if r.stream and r.ttft_ms is not None:
            c.ttft.observe(r.ttft_ms / 1000)
        if r.prompt_tokens:
            c.tokens_in.inc(r.prompt_tokens)
        if r.completion_tokens:
            c.tokens_out.inc(r.completion_tokens)
        if r.cost_usd:
            c.cost.inc(float(r.cost_usd))
        cache = getattr(r, "cache", None)  # set by the response cache, where one is on
        if cache is not None:
            self.cache_hits.labels(CACHE_KINDS.get(cache, cache)).inc()
        if r.stream and r.ttft_ms is not None and r.status in (502, 504) and r.provider:
            self.upstream_errors.labels(r.provider).inc()  # the stream began, then the upstream failed

    def _resolve(self, model: str, provider: str, status: int) -> _Children:
        return _Children(self.requests.labels(model, provider, str(status)), self.duration.labels(model),
                         self.ttft.labels(model), self.tokens.labels(model, "input"),
                         self.tokens.labels(model, "output"), self.cost.labels(model))

    def unowned(self, status: int, seconds: float) -> None:
        """A /v1 call refused before it had an owner (no or unknown key): it has no usage record."""
        c = self._children.get(("", "", status))
        if c is None:
            c = self._children[("", "", status)] = self._resolve("", "", status)
        c.requests.inc()
        c.duration.observe(seconds)

    def upstream_failed(self, provider: str) -> None:
        self.upstream_errors.labels(provider).inc()

    def refused(self, reason: str) -> None:
        self.refusals.labels(reason).inc()

    def breaker(self, route: str, target: str, is_open: bool) -> None:
        self.breaker_open.labels(route, target).set(1 if is_open else 0)

    # -- state sampled between requests ------------------------------------
    def sample(self, *, buffered: int, snapshot_version: int, spool_dir: os.PathLike[str] | None = None) -> None:
        """Set the gauges that describe this process (called every second and before a scrape): `buffered` is
        the usage records waiting in this process's memory; the spool directory is counted whole."""
        self.buffered.set(buffered)
        if snapshot_version != self._seen_version:
            self._seen_version, self._since = snapshot_version, time.monotonic()
        self.snapshot_version.set(snapshot_version)
        self.snapshot_age.set(time.monotonic() - self._since)
        if spool_dir is not None:
            self.spooled.set(_spool_bytes(spool_dir))
            self.spooled_records.set(self._spool_count.records(spool_dir))

    def stores(self, states: Mapping[str, str]) -> None:
        for store, state in states.items():
            self.store_up.labels(store).set(1 if state == "ok" else 0)

    def render(self) -> bytes:
        """The Prometheus text exposition of every worker's samples."""
        if self.shared_dir is None:
            assert self.registry is not None
            return generate_latest(self.registry)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_WithPending(MultiProcessCollector(None, path=self.shared_dir)))
        return generate_latest(registry)

    def close(self) -> None:
        """This worker is stopping: its live gauges leave the shared files."""
        if self.shared_dir is not None:
            mark_process_dead(os.getpid(), self.shared_dir)


def model_label(r: UsageRecord) -> str:
    """The `model` label: the public model that answered, else the route (or model) addressed.

    A request refused before its model was resolved (unknown model, malformed body) gets "": the
    client's own text never becomes a label, so nobody can grow the series without bound."""
    d = r.decision
    if d is None:
        return ""
    attempts = d.get("attempts")
    if r.model_used and attempts and attempts[-1].get("outcome") == "ok":
        return r.model_used
    route = d.get("route")
    return route or r.model_requested or ""


def _pending(buffered: float, spooled: float) -> GaugeMetricFamily:
    return GaugeMetricFamily("bonito_usage_pending_records", "Usage records waiting to be written (in memory and "
                             "spooled to disk)", value=buffered + spooled)


class _Pending:
    """One process: bonito_usage_pending_records from its two gauges."""

    def __init__(self, buffered: Gauge, spooled: Gauge) -> None:
        self._parts = (buffered, spooled)

    def collect(self) -> Iterator[Metric]:
        buffered, spooled = (sum(s.value for f in g.collect() for s in f.samples) for g in self._parts)
        yield _pending(buffered, spooled)


class _WithPending:
    """Several workers: passes their shared files' families through and adds bonito_usage_pending_records,
    records in memory summed over workers plus the records in the spool they share, counted once."""

    def __init__(self, inner: MultiProcessCollector) -> None:
        self._inner = inner

    def collect(self) -> Iterator[Metric]:
        buffered = spooled = 0.0
        for family in self._inner.collect():
            if family.name == "bonito_usage_buffered_records":
                buffered = sum(s.value for s in family.samples)
            elif family.name == "bonito_usage_spooled_records":
                spooled = max((s.value for s in family.samples), default=0.0)
            yield family
        yield _pending(buffered, spooled)


class SpoolCount:
    """Records in a spool directory, shared by every process that spools there. Segments only grow until they
    are deleted, so each byte is read once. It runs on the event loop, so each call reads at most
    `budget_bytes`; bytes not read yet are estimated at the average record size read so far, until they are."""

    def __init__(self, budget_bytes: int = 4 << 20) -> None:
        self.budget_bytes = budget_bytes
        self._seen: dict[str, tuple[int, int]] = {}  # segment -> (bytes counted, records in them)

    def records(self, spool_dir: os.PathLike[str]) -> int:
        seen: dict[str, tuple[int, int]] = {}
        unread = 0
        budget = self.budget_bytes
        try:
            entries = sorted((e for e in os.scandir(spool_dir) if e.name.startswith("usage-")), key=lambda e: e.name)
        except OSError:
            entries = []
        for entry in entries:
            offset, lines = self._seen.get(entry.path, (0, 0))
            try:
                size = entry.stat().st_size
                if size > offset and budget > 0:
                    with open(entry.path, "rb") as fh:
                        fh.seek(offset)
                        chunk = fh.read(min(size - offset, budget))
                    budget -= len(chunk)
                    end = chunk.rfind(b"\n") + 1  # count whole lines only; a torn tail is read again next time
                    offset, lines = offset + end, lines + chunk.count(b"\n")
            except OSError:
                continue  # delivered and deleted meanwhile
            seen[entry.path] = (offset, lines)
            unread += max(0, size - offset)
        self._seen = seen
        counted_bytes = sum(o for o, _ in seen.values())
        counted = sum(n for _, n in seen.values())
        per_record = counted_bytes / counted if counted else 750.0
        return counted + round(unread / per_record) if unread > per_record else counted


def _spool_bytes(spool_dir: os.PathLike[str]) -> int:
    try:
        return sum(e.stat().st_size for e in os.scandir(spool_dir) if e.name.startswith("usage-"))
    except OSError:
        return 0

