"""VPC agents: the agent-facing endpoints (`Bearer bt-…`: config, ingest, heartbeat), the org token
(issue/rotate, revoke) and agent status for org admins and platform admins."""

from __future__ import annotations

import zlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bonito.control.api.guards import Writable
from bonito.control.deps import CtxDep, CurrentUser, PlatformAdmin, Principal, SessionDep
from bonito.control.errors import Forbidden, Invalid
from bonito.control.services import agent_tokens, agents
from bonito.control.services.agent_config import agent_config
from bonito.control.services.agents import Heartbeat, StatusBounds

MAX_INFLATED_BYTES = 64 * 1024 * 1024

router = APIRouter(tags=["agents"])


async def agent_org(request: Request, session: SessionDep) -> str:
    """The org whose `bt-` token the caller presents (401 otherwise)."""
    return await agent_tokens.authenticate(session, request.headers.get("authorization"))


AgentOrg = Annotated[str, Depends(agent_org)]


async def org_admin(org_id: str, user: CurrentUser) -> Principal:
    """An admin of the org in the path; another org does not exist for the caller (404 before 403)."""
    agent_tokens.own_org(user, org_id)
    if not user.can("admin"):
        raise Forbidden("this action needs the admin role")
    return user


OrgAdmin = Annotated[Principal, Depends(org_admin)]


def bounds(ctx: Any) -> StatusBounds:
    s = ctx.settings
    return StatusBounds(s.agent_delayed_s, s.agent_offline_s)


@router.get("/api/agent/config", responses={304: {"description": "unchanged since If-None-Match"}})
async def config(request: Request, org_id: AgentOrg, session: SessionDep) -> Response:
    """The org's keys (hashes), models, routes, limits and budgets; no credential, ever."""
    body, etag = await agent_config(session, org_id)
    headers = {"ETag": etag}
    seen = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if etag in seen or "*" in seen:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.post("/api/agent/ingest")
async def ingest(request: Request, org_id: AgentOrg, ctx: CtxDep) -> dict[str, int]:
    """Usage records (JSON, gzip with `Content-Encoding: gzip`); a record already stored is skipped."""
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            inflater = zlib.decompressobj(wbits=31)
            raw = inflater.decompress(raw, MAX_INFLATED_BYTES)
            if inflater.unconsumed_tail:
                raise Invalid("body", "inflates past the size limit", where="body")
        except zlib.error:
            raise Invalid("body", "not valid gzip", where="body") from None
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid("body", "not valid JSON", where="body") from None
    # orjson refuses lone surrogates and raw NULs: only a \u0000 escape could carry text a store refuses
    records = agents.parse_records(org_id, payload, text_checked=b"\\u0000" not in raw)
    await agents.ingest(ctx.engine, records)
    return {"accepted": len(records)}


@router.post("/api/agent/heartbeat")
async def heartbeat(body: Heartbeat, org_id: AgentOrg, ctx: CtxDep, session: SessionDep) -> dict[str, str]:
    back = await agents.heartbeat(session, org_id, body)
    if ctx.notify is not None:
        if back:
            ctx.notify(agents.back_online_alert(org_id, body.agent_id, body.hostname))
        for alert in await agents.budget_alerts(session, org_id, body.budget_crossings):
            ctx.notify(alert)
    return {"status": "ok"}


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_s: int = Field(default=agent_tokens.DEFAULT_OVERLAP_S, ge=0, le=30 * 86_400)


@router.post("/api/orgs/{org_id}/agent/token", status_code=status.HTTP_201_CREATED)
async def issue_token(org_id: str, user: OrgAdmin, _w: Writable, session: SessionDep,
                      body: TokenIn | None = None) -> dict[str, Any]:
    """A new `bt-` token, shown once; earlier ones keep working for `overlap_s` seconds."""
    return await agent_tokens.issue(session, user, org_id, (body or TokenIn()).overlap_s)


@router.delete("/api/orgs/{org_id}/agent/token", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_tokens(org_id: str, user: OrgAdmin, _w: Writable, session: SessionDep) -> Response:
    """Every token of the org stops working at once."""
    await agent_tokens.revoke_all(session, user, org_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/orgs/{org_id}/agent")
async def org_agents(org_id: str, user: OrgAdmin, ctx: CtxDep, session: SessionDep) -> dict[str, Any]:
    return {"agents": await agents.listing(session, bounds(ctx), org_id)}


@router.get("/api/admin/agents")
async def all_agents(user: PlatformAdmin, ctx: CtxDep, session: SessionDep) -> dict[str, Any]:
    return {"agents": await agents.listing(session, bounds(ctx))}
