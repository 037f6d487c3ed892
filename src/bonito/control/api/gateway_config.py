"""/api/gateway/config: the org's gateway settings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bonito.control.api.guards import Writable
from bonito.control.deps import Admin, SessionDep, Viewer
from bonito.control.schemas.gateway import GatewayConfigIn, GatewayConfigOut
from bonito.control.services import gateway_config

router = APIRouter(prefix="/api/gateway/config", tags=["gateway config"])


@router.get("", response_model=GatewayConfigOut)
async def get(user: Viewer, session: SessionDep) -> Any:
    return await gateway_config.get(session, user)


@router.put("", response_model=GatewayConfigOut)
async def put(body: GatewayConfigIn, user: Admin, _w: Writable, session: SessionDep) -> Any:
    return await gateway_config.put(session, user, body)
