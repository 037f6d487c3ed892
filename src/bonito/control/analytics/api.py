"""/api/analytics/series: cost, requests and errors per time bucket and per model, provider, key or route,
with each bucket's latency p50/p95/p99 (the overview's charts and their tables and CSV)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from bonito.control.deps import SessionDep, Viewer
from bonito.control.services import usage

router = APIRouter(prefix="/api/analytics", tags=["usage"])


@router.get("/series")
async def series(user: Viewer, session: SessionDep,
                 start: Annotated[datetime | None, Query(description="window start; default: 24 h ago")] = None,
                 end: Annotated[datetime | None, Query(description="window end, exclusive; default: now")] = None,
                 group_by: Literal["hour", "day"] = "hour",
                 by: Literal["model", "provider", "key", "route"] = "model") -> dict[str, Any]:
    """`rows`: one per (bucket, group) with requests, tokens, cost and errors; `latency`: per bucket."""
    s, e = usage.window(start, end, timedelta(hours=24))
    return await usage.series_by(session, usage.Filters(user.org_id, s, e), group_by, by)
