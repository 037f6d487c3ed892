"""/api/provider-status and /api/providers/{id}/health: what the providers page shows about each one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from bonito.control.deps import CtxDep, SessionDep, Viewer
from bonito.control.provider_status import service
from bonito.control.schemas.common import OutModel

router = APIRouter(tags=["providers"])


class ValidationSeenOut(OutModel):
    at: datetime
    ok: bool


class ProviderStatusOut(OutModel):
    id: str
    published_models: int
    last_validation: ValidationSeenOut | None


class ProviderHealthOut(OutModel):
    id: str
    healthy: bool
    checked_at: datetime
    message: str


@router.get("/api/provider-status", response_model=list[ProviderStatusOut])
async def statuses(user: Viewer, session: SessionDep) -> Any:
    """Each provider's last validation (when, and whether it passed) and its number of published models."""
    return await service.statuses(session, user)


@router.get("/api/providers/{provider_id}/health", response_model=ProviderHealthOut)
async def health(provider_id: str, user: Viewer, ctx: CtxDep, session: SessionDep) -> Any:
    """Probe the provider now with its adapter's health check (no tokens spent)."""
    return await service.health(ctx, session, user, provider_id)
