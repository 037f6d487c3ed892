"""/api/costs: the month-end forecast and recommendations to spend less (config mode too, org `default`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from bonito.control.deps import CtxDep, SessionDep, Viewer
from bonito.control.services.costs import inventory
from bonito.costs import recommend, report

router = APIRouter(prefix="/api/costs", tags=["costs"])

ForecastGroupBy = Annotated[str | None, Query(pattern=r"^(model|tag:[A-Za-z0-9_.:-]{1,64})$",
                                              description="model | tag:<key> (adds by_model / by_tag)")]


@router.get("/forecast")
async def get_forecast(user: Viewer, session: SessionDep, group_by: ForecastGroupBy = None) -> dict[str, Any]:
    """This UTC month's spend so far and where it will end (projected, with a low–high range), with each
    monthly budget's projected use; `method` says how."""
    return await report.forecast(session, user.org_id, datetime.now(UTC), group_by)


@router.get("/recommendations")
async def get_recommendations(user: Viewer, ctx: CtxDep, session: SessionDep) -> list[dict[str, Any]]:
    """What to change to spend less: `{kind, title, evidence, monthly_saving_usd, details}`, largest saving
    first (kinds: cheaper_model, exact_cache, idle_key, unused_provider)."""
    inv = await inventory(session, ctx, user.org_id)
    return await recommend.recommendations(session, user.org_id, inv, datetime.now(UTC))
