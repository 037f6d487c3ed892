"""Usage, logs and analytics over `usage_records`, always scoped by org and a time window.

Aggregates run in SQL (indexes lead with org_id, created_at); percentiles are
nearest-rank: `percentile_disc` on PostgreSQL, an indexed ORDER BY/OFFSET on SQLite.
"""

from __future__ import annotations

import base64
import csv
import io
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bonito.control.errors import Invalid
from bonito.control.services.common import aware, now
from bonito.store.catalog import ProviderRow
from bonito.store.usage import UsageRow

LOG_COLUMNS = ["id", "request_id", "created_at", "model", "model_requested", "model_used", "provider",
               "provider_name", "key_id", "key_name", "endpoint", "stream", "status", "prompt_tokens",
               "completion_tokens", "total_tokens", "cost_usd", "latency_ms", "ttft_ms", "attempts", "route",
               "error", "source"]
U = UsageRow


@dataclass(frozen=True, slots=True)
class Filters:
    org_id: str
    start: datetime | None
    end: datetime | None
    model: str | None = None
    key_id: str | None = None
    provider: str | None = None
    status: str | None = None  # "200", "4xx", "error", "success"

    def __post_init__(self) -> None:
        if self.status:
            _status_cond(self.status)  # refuse a bad filter before any (streamed) answer starts

    def where(self) -> list[Any]:
        conds: list[Any] = [U.org_id == self.org_id]
        if self.start is not None:
            conds.append(U.created_at >= self.start)
        if self.end is not None:
            conds.append(U.created_at < self.end)
        if self.model:
            conds.append(or_(U.model_used == self.model, U.model_requested == self.model))
        if self.key_id:
            conds.append(U.key_id == self.key_id)
        if self.provider:
            conds.append(U.provider == self.provider)
        if self.status:
            conds.append(_status_cond(self.status))
        return conds


def _status_cond(status: str) -> Any:
    s = status.strip().lower()
    if s in ("error", "errors", "failed"):
        return U.status >= 400
    if s in ("success", "ok"):
        return U.status < 400
    if len(s) == 3 and s[0] in "12345" and s[1:] == "xx":
        base = int(s[0]) * 100
        return and_(U.status >= base, U.status < base + 100)
    if s.isdigit() and len(s) == 3:
        return U.status == int(s)
    raise Invalid("status", "use a status code (429), a class (5xx), 'error' or 'success'", where="query")


def utc(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise Invalid(field, "out of range", where="query") from None


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


def _agg() -> list[Any]:
    return [func.count(), func.sum(U.prompt_tokens), func.sum(U.completion_tokens), func.sum(U.cost_usd),
            func.sum(case((U.status >= 400, 1), else_=0))]


def _bucket(session: AsyncSession, by: str) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(by, func.timezone("UTC", U.created_at))
    fmt = "%Y-%m-%dT%H:00:00" if by == "hour" else "%Y-%m-%dT00:00:00"
    return func.strftime(fmt, U.created_at)


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


async def _provider_names(session: AsyncSession, org_id: str) -> dict[str, str]:
    rows = await session.execute(select(ProviderRow.id, ProviderRow.name).where(ProviderRow.org_id == org_id))
    return {pid: name for pid, name in rows.all()}


async def summary(session: AsyncSession, f: Filters, group_by: str) -> dict[str, Any]:
    where = f.where()
    total_row = (await session.execute(select(*_agg(), func.avg(U.latency_ms)).where(*where))).one()
    totals = _stats(*total_row[:5])
    latency = await _percentiles(session, where, totals["requests"])
    latency["avg"] = float(total_row[5]) if total_row[5] is not None else None
    totals["latency_ms"] = latency

    bucket = _bucket(session, group_by).label("bucket")
    series = [{"bucket": _iso_bucket(b), **_stats(*rest)} for b, *rest in
              (await session.execute(select(bucket, *_agg()).where(*where).group_by(bucket).order_by(bucket))).all()]
    names = await _provider_names(session, f.org_id)

    async def by(col: Any, *extra: Any) -> list[tuple[Any, ...]]:
        q = select(col, *extra, *_agg()).where(*where).group_by(col, *extra).order_by(func.count().desc())
        return [tuple(r) for r in (await session.execute(q.limit(500))).all()]

    model = func.coalesce(U.model_used, U.model_requested)
    by_model = [{"model": m, **_stats(*rest)} for m, *rest in await by(model)]
    by_key = [{"key_id": k, "key_name": kn, **_stats(*rest)} for k, kn, *rest in await by(U.key_id, U.key_name)]
    by_provider = [{"provider_id": p, "provider_name": names.get(p or "", p), **_stats(*rest)}
                   for p, *rest in await by(U.provider)]
    return {"window": {"start": f.start, "end": f.end}, "group_by": group_by, **totals, "totals": totals,
            "series": series, "by_model": by_model, "by_key": by_key, "by_provider": by_provider}


async def analytics(session: AsyncSession, f: Filters, group_by: str) -> dict[str, Any]:
    """Usage plus how requests were served: by status, by route, fallbacks and streams."""
    base = await summary(session, f, group_by)
    where = f.where()
    by_status = [{"status": s, "requests": int(n)} for s, n in (await session.execute(
        select(U.status, func.count()).where(*where).group_by(U.status).order_by(U.status))).all()]
    by_route = [{"route": r, **_stats(*rest)} for r, *rest in (await session.execute(
        select(U.route, *_agg()).where(*where, U.route.is_not(None)).group_by(U.route))).all()]
    retried = await session.scalar(select(func.count()).where(*where, U.attempts > 1)) or 0
    streamed = await session.scalar(select(func.count()).where(*where, U.stream.is_(True))) or 0
    n = base["requests"]
    return {**base, "by_status": by_status, "by_route": by_route,
            "retried_or_fell_back": int(retried), "retry_rate": (retried / n) if n else 0.0,
            "streamed": int(streamed)}


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
            "total_tokens": r.total_tokens, "cost_usd": str(Decimal(r.cost_usd).normalize()) if r.cost_usd else "0",
            "latency_ms": r.latency_ms, "ttft_ms": r.ttft_ms, "attempts": r.attempts, "route": r.route,
            "error": r.error, "source": r.source, "decision": r.decision}


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
            writer.writerow(["" if item[c] is None else item[c] for c in LOG_COLUMNS])
        yield buf.getvalue().encode()
        if len(rows) < batch:
            return
        cursor = _encode_cursor(rows[-1])


def _csv_line(values: list[Any]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue().encode()
