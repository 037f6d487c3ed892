"""/api/audit: the append-only audit log, paged or exported (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from bonito.control.deps import Admin, CtxDep, SessionDep
from bonito.control.errors import Invalid
from bonito.control.services import audit
from bonito.control.services.common import utc

router = APIRouter(prefix="/api/audit", tags=["audit"])

Action = Annotated[str | None, Query(max_length=120, pattern=r"^[a-z_]+(\.([a-z_]+|\*))*$",
                                     description="an action (`key.create`) or a family (`key.*`)")]
Actor = Annotated[str | None, Query(max_length=320, description="the actor's email")]
Start = Annotated[datetime | None, Query(description="events at or after (ISO 8601)")]
End = Annotated[datetime | None, Query(description="events before (ISO 8601)")]


def _filter(action: str | None, actor: str | None, start: datetime | None, end: datetime | None
            ) -> audit.AuditFilter:
    s, e = utc(start, "start"), utc(end, "end")
    if s is not None and e is not None and e <= s:
        raise Invalid("end", "must be after start", where="query")
    return audit.AuditFilter(action, actor, s, e)


@router.get("")
async def list_events(user: Admin, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                      cursor: Annotated[str | None, Query(max_length=400)] = None, action: Action = None,
                      actor: Actor = None, start: Start = None, end: End = None) -> dict[str, Any]:
    return await audit.page(session, user.org_id, cursor, limit, _filter(action, actor, start, end))


@router.get("/export", response_model=None)
async def export(user: Admin, ctx: CtxDep, format: Literal["csv", "jsonl"] = "csv", action: Action = None,
                 actor: Actor = None, start: Start = None, end: End = None) -> StreamingResponse:
    """Every (matching) event of the org, newest first."""
    f = _filter(action, actor, start, end)  # a bad filter is refused before the answer starts
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(audit.export(ctx.sessions, user.org_id, format, f), media_type=media,
                             headers={"content-disposition": f'attachment; filename="bonito-audit.{format}"'})
