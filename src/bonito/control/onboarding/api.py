"""/api/onboarding: the getting-started checklist the overview shows on a new org."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from bonito.control.deps import CtxDep, SessionDep, Viewer
from bonito.control.onboarding import service
from bonito.control.schemas.common import OutModel

router = APIRouter(prefix="/api/onboarding", tags=["onboarding"])


class StepOut(OutModel):
    id: Literal["provider", "validate", "model", "key", "call"]
    done: bool


class ChecklistOut(OutModel):
    steps: list[StepOut]
    complete: bool
    provider: str | None
    model: str | None


@router.get("", response_model=ChecklistOut)
async def checklist(user: Viewer, ctx: CtxDep, session: SessionDep) -> Any:
    """Connect a provider → validate it → publish a model → create a key → make a first call:
    each step with whether the org has done it, plus the names the snippets fill in. A server run from
    bonito.yaml is set up by its file: nothing to check off."""
    if ctx.config_mode:
        return {"steps": [{"id": s, "done": True} for s in service.STEPS], "complete": True,
                "provider": None, "model": None}
    return await service.checklist(session, user)
