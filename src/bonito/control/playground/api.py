"""/api/playground/key: the short-lived key the dashboard's playground calls `/v1` with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, status
from pydantic import Field

from bonito.control.api.guards import Writable
from bonito.control.deps import CtxDep, Member, SessionDep
from bonito.control.playground import service
from bonito.control.schemas.common import ApiModel, OutModel

router = APIRouter(prefix="/api/playground", tags=["playground"])

DEFAULT_TTL_S = 900


class PlaygroundKeyIn(ApiModel):
    ttl_s: int = Field(default=DEFAULT_TTL_S, ge=5, le=3600, description="seconds until the key stops working")


class PlaygroundKeyOut(OutModel):
    id: str
    name: str
    key: str = Field(description="the whole `bn-` key; shown this once")
    expires_at: datetime
    ttl_s: int


@router.post("/key", status_code=status.HTTP_201_CREATED, response_model=PlaygroundKeyOut)
async def issue_key(user: Member, _w: Writable, ctx: CtxDep, session: SessionDep,
                    body: PlaygroundKeyIn | None = Body(default=None)) -> Any:
    """A gateway key for the signed-in user, for this org, expiring after `ttl_s` (default 15 minutes).
    Issuing one revokes the user's earlier playground keys; each issue is in the audit log."""
    return await service.issue(ctx, session, user, (body or PlaygroundKeyIn()).ttl_s)
