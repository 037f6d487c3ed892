"""/api/gateway/config: the org's gateway settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bonito.control.api.guards import Writable
from bonito.control.deps import Admin, CtxDep, SessionDep, Viewer
from bonito.control.schemas.gateway import GatewayConfigIn, GatewayConfigOut
from bonito.control.services import gateway_config

router = APIRouter(prefix="/api/gateway/config", tags=["gateway config"])


@router.get("", response_model=GatewayConfigOut)
async def get(user: Viewer, session: SessionDep, ctx: CtxDep) -> Any:
    found = await gateway_config.get(session, user)
    if ctx.config_mode:  # bonito.yaml's `tags:` are the org's tag keys
        found["tags"] = sorted(ctx.get_snapshot().listed_tags(user.org_id))
    return found


@router.put("", response_model=GatewayConfigOut)
async def put(body: GatewayConfigIn, user: Admin, _w: Writable, session: SessionDep) -> Any:
    return await gateway_config.put(session, user, body)
