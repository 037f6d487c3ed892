"""/api/audit: the append-only audit log, paged or exported (admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from bonito.control.deps import Admin, CtxDep, SessionDep
from bonito.control.services import audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("")
async def list_events(user: Admin, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                      cursor: Annotated[str | None, Query(max_length=400)] = None) -> dict[str, Any]:
    return await audit.page(session, user.org_id, cursor, limit)


@router.get("/export", response_model=None)
async def export(user: Admin, ctx: CtxDep, format: Literal["csv", "jsonl"] = "csv") -> StreamingResponse:
    """Every event of the org, newest first."""
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(audit.export(ctx.sessions, user.org_id, format), media_type=media,
                             headers={"content-disposition": f'attachment; filename="bonito-audit.{format}"'})
