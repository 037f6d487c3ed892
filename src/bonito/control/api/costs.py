"""/api/costs: the month-end forecast and recommendations to spend less (config mode too, org `default`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from bonito.control.api.guards import Writable
from bonito.control.deps import Admin, CtxDep, SessionDep, Viewer
from bonito.control.schemas.common import ApiModel
from bonito.control.services import bills
from bonito.control.services.costs import inventory
from bonito.costs import recommend, report
from bonito.costs.bills import ledger

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


class BillImportIn(ApiModel):
    provider_id: Annotated[str, Field(min_length=1, max_length=64)]
    start: date | None = Field(default=None, description="first day (UTC); default: 30 days ago")
    end: date | None = Field(default=None, description="day after the last (UTC); default: tomorrow")
    scope: str | None = Field(default=None, max_length=300, description="Azure connections: the billing scope, "
                              "/subscriptions/<id> or /subscriptions/<id>/resourceGroups/<name>")
    table: str | None = Field(default=None, max_length=300, description="Vertex connections: the Cloud "
                              "Billing export table in BigQuery, project.dataset.table")


@router.post("/bills/import")
async def import_bills(body: BillImportIn, user: Admin, _w: Writable, ctx: CtxDep, session: SessionDep
                       ) -> dict[str, Any]:
    """Import a connected provider's cloud bill (AWS Cost Explorer for a Bedrock connection, Azure Cost
    Management for an Azure one, the BigQuery billing export for a Vertex one), per service, usage type,
    meter or SKU and day; a new import of the same days replaces the old lines."""
    return await bills.import_for(session, ctx, user.org_id, body.provider_id, body.start, body.end, body.scope,
                                  body.table)


@router.get("/bills")
async def get_bills(user: Viewer, session: SessionDep, start: date | None = None, end: date | None = None
                    ) -> dict[str, Any]:
    """Imported bill lines and, per day, billed beside metered USD (the difference: spend that did not go
    through Bonito). Default: the last 30 days."""
    s, e = bills.window(start, end)
    return await ledger.report(session, user.org_id, s, e)
