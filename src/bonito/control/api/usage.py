"""/api/gateway/usage, /logs (JSON pages or a CSV export) and /analytics."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from bonito.control.deps import CtxDep, SessionDep, Viewer
from bonito.control.errors import Invalid
from bonito.control.services import usage
from bonito.control.services.usage import Filters

router = APIRouter(prefix="/api/gateway", tags=["usage"])

Text = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
Start = Annotated[datetime | None, Query(description="window start (ISO 8601); default: see each endpoint")]
End = Annotated[datetime | None, Query(description="window end, exclusive (ISO 8601); default: now")]
UsageGroupBy = Annotated[str, Query(pattern=r"^(hour|day|tag:[A-Za-z0-9_.:-]{1,64})$",
                                    description="hour | day | tag:<key> (adds by_tag)")]
TAG_FILTER = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def tag_filters(request: Request) -> tuple[tuple[str, str], ...]:
    """`tag.<key>=<value>` query parameters, as filters."""
    out: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name.startswith("tag."):
            key = name[4:]
            if not TAG_FILTER.match(key) or not value or len(value) > 200 or "\x00" in value:
                raise Invalid(name, "a tag filter is tag.<key>=<value> (key: letters, digits, _.:-)",
                              where="query")
            out[key] = value
    return tuple(sorted(out.items()))


def _filters(org_id: str, start: datetime | None, end: datetime | None, default: timedelta, model: str | None,
             key_id: str | None, provider: str | None, status: str | None,
             tags: tuple[tuple[str, str], ...] = ()) -> Filters:
    s, e = usage.window(start, end, default)
    return Filters(org_id, s, e, model=model, key_id=key_id, provider=provider, status=status, tags=tags)


@router.get("/usage")
async def get_usage(request: Request, user: Viewer, session: SessionDep, start: Start = None, end: End = None,
                    group_by: UsageGroupBy = "hour", model: Text = None, key_id: Text = None, provider: Text = None,
                    status: Text = None) -> dict[str, Any]:
    """Requests, tokens, cost, error rate and latency percentiles (default: the last 24 hours), with a time
    series and breakdowns by model, key and provider; `group_by=tag:<key>` adds `by_tag`, and
    `tag.<key>=<value>` filters by tag."""
    f = _filters(user.org_id, start, end, timedelta(hours=24), model, key_id, provider, status,
                 tag_filters(request))
    return await usage.summary(session, f, group_by)


@router.get("/analytics")
async def get_analytics(request: Request, user: Viewer, session: SessionDep, start: Start = None, end: End = None,
                        group_by: UsageGroupBy = "day", model: Text = None, key_id: Text = None,
                        provider: Text = None) -> dict[str, Any]:
    """Usage (default: the last 30 days) plus status, route and retry breakdowns."""
    f = _filters(user.org_id, start, end, timedelta(days=30), model, key_id, provider, None, tag_filters(request))
    return await usage.analytics(session, f, group_by)


@router.get("/logs", response_model=None)
async def get_logs(request: Request, user: Viewer, ctx: CtxDep, session: SessionDep, start: Start = None, end: End = None,
                   model: Text = None, key_id: Text = None, provider: Text = None, status: Text = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100, cursor: Annotated[str | None, Query(
                       max_length=400)] = None, format: Literal["json", "csv"] = "json"
                   ) -> dict[str, Any] | StreamingResponse:
    """One record per request, newest first (default: the last 30 days). JSON pages with
    `?limit=&cursor=`; `?format=csv` streams every record of the window."""
    f = _filters(user.org_id, start, end, timedelta(days=30), model, key_id, provider, status,
                 tag_filters(request))
    if format == "csv":
        return StreamingResponse(usage.logs_csv(ctx.sessions, f), media_type="text/csv; charset=utf-8",
                                 headers={"content-disposition": 'attachment; filename="bonito-logs.csv"'})
    return await usage.logs_page(session, f, cursor, limit)
