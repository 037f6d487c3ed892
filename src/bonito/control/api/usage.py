"""/api/gateway/usage, /logs (JSON pages or a CSV export) and /analytics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from bonito.control.deps import CtxDep, SessionDep, Viewer
from bonito.control.services import usage
from bonito.control.services.usage import Filters

router = APIRouter(prefix="/api/gateway", tags=["usage"])

Text = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
Start = Annotated[datetime | None, Query(description="window start (ISO 8601); default: see each endpoint")]
End = Annotated[datetime | None, Query(description="window end, exclusive (ISO 8601); default: now")]
GroupBy = Annotated[Literal["hour", "day"], Query()]


def _filters(org_id: str, start: datetime | None, end: datetime | None, default: timedelta, model: str | None,
             key_id: str | None, provider: str | None, status: str | None) -> Filters:
    s, e = usage.window(start, end, default)
    return Filters(org_id, s, e, model=model, key_id=key_id, provider=provider, status=status)


@router.get("/usage")
async def get_usage(user: Viewer, session: SessionDep, start: Start = None, end: End = None,
                    group_by: GroupBy = "hour", model: Text = None, key_id: Text = None, provider: Text = None,
                    status: Text = None) -> dict[str, Any]:
    """Requests, tokens, cost, error rate and latency percentiles (default: the last 24 hours), with a time
    series and breakdowns by model, key and provider."""
    f = _filters(user.org_id, start, end, timedelta(hours=24), model, key_id, provider, status)
    return await usage.summary(session, f, group_by)


@router.get("/analytics")
async def get_analytics(user: Viewer, session: SessionDep, start: Start = None, end: End = None,
                        group_by: GroupBy = "day", model: Text = None, key_id: Text = None,
                        provider: Text = None) -> dict[str, Any]:
    """Usage (default: the last 30 days) plus status, route and retry breakdowns."""
    f = _filters(user.org_id, start, end, timedelta(days=30), model, key_id, provider, None)
    return await usage.analytics(session, f, group_by)


@router.get("/logs", response_model=None)
async def get_logs(user: Viewer, ctx: CtxDep, session: SessionDep, start: Start = None, end: End = None,
                   model: Text = None, key_id: Text = None, provider: Text = None, status: Text = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100, cursor: Annotated[str | None, Query(
                       max_length=400)] = None, format: Literal["json", "csv"] = "json"
                   ) -> dict[str, Any] | StreamingResponse:
    """One record per request, newest first (default: the last 30 days). JSON pages with
    `?limit=&cursor=`; `?format=csv` streams every record of the window."""
    f = _filters(user.org_id, start, end, timedelta(days=30), model, key_id, provider, status)
    if format == "csv":
        return StreamingResponse(usage.logs_csv(ctx.sessions, f), media_type="text/csv; charset=utf-8",
                                 headers={"content-disposition": 'attachment; filename="bonito-logs.csv"'})
    return await usage.logs_page(session, f, cursor, limit)
