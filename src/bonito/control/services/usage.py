"""Usage, logs and analytics over `usage_records`, always scoped by org and a time window.

Aggregates (totals, series, breakdowns) read the rollups for the window's whole
periods and `usage_records` only for the partial hours at its edges (indexes lead
with org_id, created_at), then add them up: requests, tokens, cost, errors, retries
and streams are exact. On PostgreSQL whole UTC days come from `usage_daily` and the
hours around them from `usage_hourly` (an hourly series reads hours only); on SQLite
everything whole comes from `usage_hourly`. Latency percentiles are nearest-rank and
exact (`percentile_disc` on PostgreSQL, an indexed ORDER BY/OFFSET on SQLite) when
the window spans no whole UTC hour, or holds at most `EXACT_PERCENTILES_MAX` requests
and has no model/key/provider/status filter (so the raw rows to sort are few and found
by the (org_id, created_at) index); otherwise they come from the rollups' latency
histograms: the middle of the right bucket, within 7.5% of the exact value (16
log-spaced buckets a decade, 1 ms..1000 s). Logs always read `usage_records`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bonito.control.errors import Invalid
from bonito.control.services.common import aware, now, utc
from bonito.store.catalog import ProviderRow
from bonito.store.rollup import DAILY, HOURLY, LAT_BOUNDS, LAT_COLUMNS, Tier, lat_value
from bonito.store.usage import UsageRow

LOG_COLUMNS = ["id", "request_id", "created_at", "model", "model_requested", "model_used", "provider",
               "provider_name", "key_id", "key_name", "endpoint", "stream", "status", "prompt_tokens",
               "completion_tokens", "total_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens",
               "cost_usd", "latency_ms", "ttft_ms", "attempts", "route", "error", "source", "tags", "cache"]
U = UsageRow
H = HOURLY.counters.c
EXACT_PERCENTILES_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Filters:
    org_id: str
    start: datetime | None
    end: datetime | None
    model: str | None = None
    key_id: str | None = None
    provider: str | None = None
    status: str | None = None  # "200", "4xx", "error", "success"
    tags: tuple[tuple[str, str], ...] = ()  # tag.<key>=<value> filters (raw rows: rollups keep no tags)

    def __post_init__(self) -> None:
        if self.status:
            _status_cond(self.status)  # refuse a bad filter before any (streamed) answer starts

    def where(self) -> list[Any]:
        conds: list[Any] = [U.org_id == self.org_id]
        if self.start is not None:
            conds.append(U.created_at >= self.start)
        if self.end is not None:
            conds.append(U.created_at < self.end)
        conds += [U.tags[k].as_string() == v for k, v in self.tags]
        return conds + self.dims(U.__table__.c)

    def dims(self, c: Any) -> list[Any]:
        """The non-time filters on `usage_records` or a rollup's columns (`c`)."""
        conds: list[Any] = []
        if self.model:
            conds.append(or_(c.model_used == self.model, c.model_requested == self.model))
        if self.key_id:
            conds.append(c.key_id == self.key_id)
        if self.provider:
            conds.append(c.provider == self.provider)
        if self.status:
            conds.append(_status_cond(self.status, c.status))
        return conds


def _status_cond(status: str, col: Any = None) -> Any:
    col = U.status if col is None else col
    s = status.strip().lower()
    if s in ("error", "errors", "failed"):
        return col >= 400
    if s in ("success", "ok"):
        return col < 400
    if len(s) == 3 and s[0] in "12345" and s[1:] == "xx":
        base = int(s[0]) * 100
        return and_(col >= base, col < base + 100)
    if s.isdigit() and len(s) == 3:
        return col == int(s)
    raise Invalid("status", "use a status code (429), a class (5xx), 'error' or 'success'", where="query")


def window(start: datetime | None, end: datetime | None, default: timedelta) -> tuple[datetime, datetime | None]:
    s, e = utc(start, "start"), utc(end, "end")
    if s is None:
        try:
            s = (e or now()) - default
        except OverflowError:
            raise Invalid("end", "out of range", where="query") from None
    if e is not None and e <= s:
        raise Invalid("end", "must be after start", where="query")
    return s, e


def _money(v: Any) -> Decimal:
    return Decimal(v) if v is not None else Decimal(0)


def _stats(count: Any, prompt: Any, completion: Any, cost: Any, errors: Any) -> dict[str, Any]:
    n, err = int(count or 0), int(errors or 0)
    c = _money(cost)
    p, q = int(prompt or 0), int(completion or 0)
    return {"requests": n, "prompt_tokens": p, "completion_tokens": q, "total_tokens": p + q,
            "cost_usd": float(c), "cost_usd_exact": str(c.normalize()) if c else "0", "errors": err,
            "error_rate": (err / n) if n else 0.0}


@dataclass(frozen=True, slots=True)
class _Source:
    """One table to aggregate and its conditions: a rollup tier's whole periods, or raw rows (tier None)."""

    tier: Tier | None
    where: list[Any]
    # the histogram's conditions on its own key (org, period); None: join the counters for dimension filters
    latency_where: list[Any] | None = None

    def agg(self) -> list[Any]:
        """count, prompt tokens, completion tokens, cost, errors."""
        if self.tier is not None:
            c = self.tier.counters.c
            return [func.sum(c.requests), func.sum(c.prompt_tokens), func.sum(c.completion_tokens),
                    func.sum(c.cost_usd), func.sum(case((c.status >= 400, c.requests), else_=0))]
        return [func.count(), func.sum(U.prompt_tokens), func.sum(U.completion_tokens), func.sum(U.cost_usd),
                func.sum(case((U.status >= 400, 1), else_=0))]

    def extra(self) -> list[Any]:
        """latency sum, retried, streamed."""
        if self.tier is not None:
            c = self.tier.counters.c
            return [func.sum(c.latency_sum), func.sum(c.retried), func.sum(c.streamed)]
        return [func.sum(U.latency_ms), func.sum(case((U.attempts > 1, 1), else_=0)),
                func.sum(case((U.stream.is_(True), 1), else_=0))]

    def col(self, name: str) -> Any:
        c = U.__table__.c if self.tier is None else self.tier.counters.c
        if name == "model":
            return func.coalesce(c.model_used, c.model_requested)
        if name == "time":
            return U.created_at if self.tier is None else c[self.tier.unit]
        return c[name]


def _as_utc(t: datetime | None) -> datetime | None:
    return None if t is None else t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _floor(t: datetime, unit: str) -> datetime:
    t = t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if unit == "day" else t


def _ceil(t: datetime, unit: str) -> datetime:
    f = _floor(t, unit)
    return f if f == t else f + (timedelta(days=1) if unit == "day" else timedelta(hours=1))


def _span(col: Any, lo: datetime | None, hi: datetime | None) -> Any:
    return and_(*([col >= lo] if lo is not None else []), *([col < hi] if hi is not None else []))


def _rolled(f: Filters, tier: Tier, spans: list[tuple[datetime | None, datetime | None]]) -> _Source:
    c, lat = tier.counters.c, tier.latency.c
    t = tier.unit
    where = [c.org_id == f.org_id, or_(*[_span(c[t], lo, hi) for lo, hi in spans]), *f.dims(c)]
    latency = [lat.org_id == f.org_id, or_(*[_span(lat[t], lo, hi) for lo, hi in spans])]
    return _Source(tier, where, None if f.dims(c) else latency)


def _sources(f: Filters, daily: bool) -> list[_Source]:
    """Rollups for the window's whole hours (whole days from the daily tier when `daily`), raw rows for the
    partial hours at its edges."""
    if f.tags:  # the rollups keep no tags
        return [_Source(None, f.where())]
    start, end = _as_utc(f.start), _as_utc(f.end)  # rollup periods are UTC hours and days
    h0 = None if start is None else _ceil(start, "hour")
    h1 = None if end is None else _floor(end, "hour")
    if h0 is not None and h1 is not None and h1 <= h0:
        return [_Source(None, f.where())]
    hours: list[tuple[datetime | None, datetime | None]] = [(h0, h1)]
    out = []
    if daily and h0 is not None:
        d0, d1 = _ceil(h0, "day"), _floor(h1 if h1 is not None else now(), "day")  # open end: days before today
        if d0 < d1:
            hours = [(lo, hi) for lo, hi in ((h0, d0), (d1, h1)) if hi is None or lo is None or lo < hi]
            out.append(_rolled(f, DAILY, [(d0, d1)]))
    if hours:
        out.insert(0, _rolled(f, HOURLY, hours))
    edges = []
    if start is not None and h0 is not None and start < h0:
        edges.append(and_(U.created_at >= start, U.created_at < h0))
    if end is not None and h1 is not None and h1 < end:
        edges.append(and_(U.created_at >= h1, U.created_at < end))
    if edges:
        out.append(_Source(None, [U.org_id == f.org_id, or_(*edges), *f.dims(U.__table__.c)]))
    return out


def _add(into: dict[Any, list[Any]], key: Any, values: Any) -> None:
    cur = into.get(key)
    vals = [v if v is not None else 0 for v in values]
    into[key] = vals if cur is None else [a + b for a, b in zip(cur, vals, strict=True)]


async def _grouped(session: AsyncSession, sources: list[_Source], cols: list[str], *, extra: bool = False,
                   where: Any = None) -> dict[tuple[Any, ...], list[Any]]:
    """Per group of `cols` (names, or "model", or "bucket:hour|day"): the `agg()` sums added over the sources."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for src in sources:
        keys = [_bucket(session, c.split(":")[1], src.col("time"))
                if c.startswith("bucket:") else src.col(c) for c in cols]
        q = select(*keys, *src.agg(), *(src.extra() if extra else [])).where(*src.where)
        if where is not None:
            q = q.where(where(src))
        if keys:
            q = q.group_by(*keys)
        for row in (await session.execute(q)).all():
            _add(out, tuple(row[:len(keys)]), row[len(keys):])
    return out


def _bucket(session: AsyncSession, by: str, col: Any = None) -> Any:
    col = U.created_at if col is None else col
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(by, func.timezone("UTC", col))
    fmt = "%Y-%m-%dT%H:00:00" if by == "hour" else "%Y-%m-%dT00:00:00"
    return func.strftime(fmt, col)


def _iso_bucket(value: Any) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC).isoformat()
    return f"{value}+00:00"


async def _percentiles(session: AsyncSession, where: list[Any], n: int) -> dict[str, float | None]:
    out: dict[str, float | None] = {"p50": None, "p95": None, "p99": None}
    if n == 0:
        return out
    if session.get_bind().dialect.name == "postgresql":
        row = (await session.execute(select(
            *[func.percentile_disc(q).within_group(U.latency_ms) for q in (0.5, 0.95, 0.99)]).where(*where))).one()
        return {k: float(v) if v is not None else None for k, v in zip(out, row, strict=True)}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        rank = max(1, math.ceil(q * n))
        v = await session.scalar(select(U.latency_ms).where(*where).order_by(U.latency_ms).offset(rank - 1).limit(1))
        out[name] = float(v) if v is not None else None
    return out


async def _histogram(session: AsyncSession, sources: list[_Source]) -> list[int]:
    """Requests per latency bucket (`LAT_COLUMNS`), added over the sources."""
    hist = [0] * len(LAT_COLUMNS)
    for src in sources:
        if src.tier is not None:
            lat, cnt, t = src.tier.latency.c, src.tier.counters.c, src.tier.unit
            q = select(*[func.sum(lat[c]) for c in LAT_COLUMNS])
            if src.latency_where is None:
                q = q.select_from(src.tier.latency.join(src.tier.counters, and_(
                    lat.org_id == cnt.org_id, lat[t] == cnt[t], lat.dims == cnt.dims))).where(*src.where)
            else:
                q = q.where(*src.latency_where)
            row = (await session.execute(q)).one()
            counts = [int(v or 0) for v in row]
        else:  # raw edges: how many fall below each bound, then differences
            row = (await session.execute(select(func.count(), *[
                func.sum(case((U.latency_ms < b, 1), else_=0)) for b in LAT_BOUNDS]).where(*src.where))).one()
            below = [int(v or 0) for v in row[1:]] + [int(row[0] or 0)]
            counts = [below[0]] + [below[i] - below[i - 1] for i in range(1, len(below))]
        hist = [a + b for a, b in zip(hist, counts, strict=True)]
    return hist


def _hist_percentiles(hist: list[int], n: int) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        rank, seen, value = max(1, math.ceil(q * n)), 0, None
        for i, c in enumerate(hist):
            seen += c
            if seen >= rank:
                value = lat_value(i)
                break
        out[name] = value
    return out


async def _provider_names(session: AsyncSession, org_id: str) -> dict[str, str]:
    rows = await session.execute(select(ProviderRow.id, ProviderRow.name).where(ProviderRow.org_id == org_id))
    return {pid: name for pid, name in rows.all()}


def _top(groups: dict[tuple[Any, ...], list[Any]], limit: int = 500) -> list[tuple[Any, ...]]:
    items = sorted(groups.items(), key=lambda kv: -int(kv[1][0] or 0))
    return [(*k, *v) for k, v in items[:limit]]


async def _summary(session: AsyncSession, f: Filters, group_by: str) -> tuple[dict[str, Any], list[_Source],
                                                                               tuple[int, int]]:
    daily = session.get_bind().dialect.name == "postgresql"  # SQLite keeps the hourly tier only
    sources = _sources(f, daily)
    total = (await _grouped(session, sources, [], extra=True)).get((), [0] * 8)
    totals = _stats(*total[:5])
    n = totals["requests"]
    # exact only where the raw rows to sort are few and cheap to find: the window's (org, created_at) range
    # holds at most EXACT_PERCENTILES_MAX of them (no dimension filter) or spans no whole hour
    if (n <= EXACT_PERCENTILES_MAX and not f.dims(H)) or all(s.tier is None for s in sources):
        latency = await _percentiles(session, f.where(), n)
    else:
        latency = _hist_percentiles(await _histogram(session, sources), n)
    latency["avg"] = float(total[5]) / n if n else None
    totals["latency_ms"] = latency

    by_time = _sources(f, False) if daily and group_by == "hour" else sources  # days cannot split into hours
    series = [{"bucket": _iso_bucket(b), **_stats(*rest)}
              for b, *rest in sorted((k[0], *v) for k, v in
                                     (await _grouped(session, by_time, [f"bucket:{group_by}"])).items())]
    names = await _provider_names(session, f.org_id)
    by_model = [{"model": m, **_stats(*rest)} for m, *rest in _top(await _grouped(session, sources, ["model"]))]
    by_key = [{"key_id": k, "key_name": kn, **_stats(*rest)}
              for k, kn, *rest in _top(await _grouped(session, sources, ["key_id", "key_name"]))]
    by_provider = [{"provider_id": p, "provider_name": names.get(p or "", p), **_stats(*rest)}
                   for p, *rest in _top(await _grouped(session, sources, ["provider"]))]
    body = {"window": {"start": f.start, "end": f.end}, "group_by": group_by, **totals, "totals": totals,
            "series": series, "by_model": by_model, "by_key": by_key, "by_provider": by_provider}
    return body, sources, (int(total[6] or 0), int(total[7] or 0))


async def summary(session: AsyncSession, f: Filters, group_by: str) -> dict[str, Any]:
    """Totals, a series and breakdowns; `group_by=tag:<key>` adds `by_tag` (hourly series)."""
    tag = group_by[4:] if group_by.startswith("tag:") else None
    body = (await _summary(session, f, "hour" if tag else group_by))[0]
    if tag is not None:
        body["group_by"] = group_by
        body["by_tag"] = await by_tag(session, f, tag)
    return {**body, "cache": await _cache_savings(session, f, body["requests"])}


async def by_tag(session: AsyncSession, f: Filters, tag: str) -> list[dict[str, Any]]:
    """Requests, tokens and cost per value of one tag (value null: requests without it), costliest first."""
    value = U.tags[tag].as_string()
    q = select(value, func.count(), func.sum(U.prompt_tokens), func.sum(U.completion_tokens),
               func.sum(U.cost_usd), func.sum(case((U.status >= 400, 1), else_=0))).where(*f.where()).group_by(value)
    rows = [{"tag": tag, "value": v, **_stats(*rest)} for v, *rest in (await session.execute(q)).all()]
    return sorted(rows, key=lambda r: (-Decimal(r["cost_usd_exact"]), -r["requests"]))


async def analytics(session: AsyncSession, f: Filters, group_by: str) -> dict[str, Any]:
    """Usage plus how requests were served: by status, by route, fallbacks and streams; `group_by=tag:<key>`
    adds `by_tag` (daily series)."""
    tag = group_by[4:] if group_by.startswith("tag:") else None
    base, sources, (retried, streamed) = await _summary(session, f, "day" if tag else group_by)
    if tag is not None:
        base["group_by"] = group_by
        base["by_tag"] = await by_tag(session, f, tag)
    by_status = [{"status": s, "requests": int(v[0])}
                 for (s,), v in sorted((await _grouped(session, sources, ["status"])).items())]
    by_route = [{"route": r, **_stats(*rest)} for r, *rest in _top(await _grouped(
        session, sources, ["route"], where=lambda src: src.col("route").is_not(None)), limit=10_000)]
    n = base["requests"]
    return {**base, "by_status": by_status, "by_route": by_route,
            "retried_or_fell_back": retried, "retry_rate": (retried / n) if n else 0.0,
            "streamed": streamed, "cache": await _cache_savings(session, f, n)}


async def _cache_savings(session: AsyncSession, f: Filters, requests: int) -> dict[str, Any]:
    """Requests the response cache answered, the hit rate, and what the upstream calls would have cost."""
    rows = await session.execute(select(U.cache, func.count(), func.sum(U.cache_saved_usd))
                                 .where(*f.where(), U.cache.is_not(None)).group_by(U.cache))
    by_kind = {kind: (int(count), _money(saved)) for kind, count, saved in rows.all()}  # sum keeps PicoUSD
    hits = sum(c for c, _ in by_kind.values())
    saved = sum((s for _, s in by_kind.values()), Decimal(0))
    return {"hits": by_kind.get("hit", (0, 0))[0], "semantic_hits": by_kind.get("semantic-hit", (0, 0))[0],
            "hit_rate": hits / requests if requests else 0.0, "saved_usd": str(saved.normalize()) if saved else "0"}


def _encode_cursor(r: UsageRow) -> str:
    created = aware(r.created_at)
    assert created is not None
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{r.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        ts, _, rid = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(ts).astimezone(UTC), rid
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise Invalid("cursor", "not a cursor from this listing", where="query") from None


def _logs_query(f: Filters, cursor: str | None, limit: int) -> Any:
    q = select(U).where(*f.where())
    if cursor:
        ts, rid = _decode_cursor(cursor)
        q = q.where(or_(U.created_at < ts, and_(U.created_at == ts, U.id < rid)))
    return q.order_by(U.created_at.desc(), U.id.desc()).limit(limit)


def log_item(r: UsageRow, names: dict[str, str]) -> dict[str, Any]:
    created = aware(r.created_at)
    return {"id": r.id, "request_id": r.request_id, "created_at": created.isoformat() if created else None,
            "model": r.model_used or r.model_requested, "model_requested": r.model_requested,
            "model_used": r.model_used, "provider": r.provider, "provider_name": names.get(r.provider or ""),
            "key_id": r.key_id, "key_name": r.key_name, "endpoint": r.endpoint, "stream": r.stream,
            "status": r.status, "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
            "total_tokens": r.total_tokens, "cached_tokens": r.cached_tokens or 0,
            "cache_write_tokens": r.cache_write_tokens or 0, "reasoning_tokens": r.reasoning_tokens or 0,
            "cost_usd": str(Decimal(r.cost_usd).normalize()) if r.cost_usd else "0",
            "latency_ms": r.latency_ms, "ttft_ms": r.ttft_ms, "attempts": r.attempts, "route": r.route,
            "error": r.error, "source": r.source, "tags": r.tags or {}, "cache": r.cache, "decision": r.decision}


async def logs_page(session: AsyncSession, f: Filters, cursor: str | None, limit: int) -> dict[str, Any]:
    rows = list((await session.execute(_logs_query(f, cursor, limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    names = await _provider_names(session, f.org_id)
    return {"items": [log_item(r, names) for r in rows],
            "next_cursor": _encode_cursor(rows[-1]) if more and rows else None}


async def logs_csv(sessions: async_sessionmaker[AsyncSession], f: Filters, batch: int = 2000
                   ) -> AsyncIterator[bytes]:
    """Every record of the window, newest first, with a header row; pages by keyset, no row cap."""
    yield _csv_line(LOG_COLUMNS)
    cursor: str | None = None
    async with sessions() as session:
        names = await _provider_names(session, f.org_id)
    while True:
        async with sessions() as session:
            rows = list((await session.execute(_logs_query(f, cursor, batch))).scalars())
        if not rows:
            return
        buf = io.StringIO()
        writer = csv.writer(buf)
        for r in rows:
            item = log_item(r, names)
            writer.writerow([_csv_cell(item[c]) for c in LOG_COLUMNS])
        yield buf.getvalue().encode()
        if len(rows) < batch:
            return
        cursor = _encode_cursor(rows[-1])


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, dict):  # tags: one JSON object per cell, keys sorted
        return json.dumps(v, sort_keys=True, separators=(",", ":")) if v else ""
    return v


def _csv_line(values: list[Any]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue().encode()


SERIES_DIMS = {"model": "model", "provider": "provider", "key": "key_name", "route": "route"}


async def series_by(session: AsyncSession, f: Filters, group_by: str, by: str) -> dict[str, Any]:
    """The dashboard's charts: per time bucket, the stats split by `by` (model, provider, key or route), and
    the latency percentiles of each bucket (exact or from the rollups' histograms, as in `summary`)."""
    daily = session.get_bind().dialect.name == "postgresql"
    sources = _sources(f, daily and group_by == "day")
    groups = await _grouped(session, sources, [f"bucket:{group_by}", SERIES_DIMS[by]])
    names = await _provider_names(session, f.org_id) if by == "provider" else {}
    rows = [{"bucket": _iso_bucket(b), "group": names.get(g, g) if g is not None else None, **_stats(*rest)}
            for (b, g), rest in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))]
    step = timedelta(days=1) if group_by == "day" else timedelta(hours=1)
    latency = []
    for bucket in sorted({r["bucket"] for r in rows}):
        lo = datetime.fromisoformat(bucket)
        sub = Filters(f.org_id, max(lo, f.start) if f.start else lo, min(lo + step, f.end) if f.end else lo + step,
                      f.model, f.key_id, f.provider, f.status)
        n = sum(r["requests"] for r in rows if r["bucket"] == bucket)
        subs = _sources(sub, daily)
        if (n <= EXACT_PERCENTILES_MAX and not sub.dims(H)) or all(s.tier is None for s in subs):
            pct = await _percentiles(session, sub.where(), n)
        else:
            pct = _hist_percentiles(await _histogram(session, subs), n)
        latency.append({"bucket": bucket, "requests": n, **pct})
    return {"window": {"start": f.start, "end": f.end}, "group_by": group_by, "by": by, "rows": rows,
            "latency": latency}
