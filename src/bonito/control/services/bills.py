"""Importing a connected provider's cloud bill: which cloud API answers for which connection type."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.errors import ApiError, Invalid
from bonito.control.services import providers
from bonito.control.services.common import get_scoped
from bonito.costs.bills import BillImportError, ledger
from bonito.store.catalog import ProviderRow

MAX_DAYS = 366
CLOUDS = {"bedrock": "aws", "azure": "azure", "vertex": "gcp"}  # connection type -> the cloud whose bill is imported


class BillImportFailed(ApiError):
    status = 400


def window(start: date | None, end: date | None) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    e = end or today + timedelta(days=1)
    s = start or e - timedelta(days=30)
    if e <= s:
        raise Invalid("end", "must be after start", where="query")
    if (e - s).days > MAX_DAYS:
        raise Invalid("start", f"at most {MAX_DAYS} days at a time", where="query")
    return s, e


async def import_for(session: AsyncSession, ctx: ControlContext, org_id: str, provider_id: str,
                     start: date | None, end: date | None, scope: str | None = None,
                     table: str | None = None) -> dict[str, Any]:
    try:
        s, e = window(start, end)
    except Invalid as exc:  # the same rule, named where the body put it
        raise Invalid(exc.detail[0]["loc"][-1], exc.detail[0]["msg"]) from None
    row = await get_scoped(session, ProviderRow, org_id, provider_id, "provider")
    if row.type not in CLOUDS:
        raise Invalid("provider_id", "bill import supports Bedrock (AWS Cost Explorer), Azure (Cost "
                                     "Management) and Vertex (BigQuery billing export) connections")
    if row.type == "azure" and not scope:
        raise Invalid("scope", "an Azure bill needs its billing scope: /subscriptions/<id>[/resourceGroups/<name>]")
    if row.type == "vertex" and not table:
        raise Invalid("table", "a Google Cloud bill needs its BigQuery billing export table: project.dataset.table")
    config = await providers.load_config(ctx, row)
    try:
        if row.type == "bedrock":
            from bonito.costs.bills.aws import fetch_bedrock_costs  # lazy: botocore's client factory is heavy

            lines = await asyncio.to_thread(fetch_bedrock_costs, config, s, e, ctx.settings.aws_cost_explorer_url)
        elif row.type == "azure":
            from bonito.costs.bills.azure import fetch_openai_costs

            assert scope is not None
            lines = await fetch_openai_costs(config, scope, s, e, management_url=ctx.settings.azure_management_url)
        else:
            from bonito.costs.bills.gcp import fetch_vertex_costs

            assert table is not None
            lines = await fetch_vertex_costs(config, table, s, e, bigquery_url=ctx.settings.bigquery_url)
    except BillImportError as exc:
        if exc.status == 422:
            raise Invalid("scope" if row.type == "azure" else "table", exc.reason) from None
        raise BillImportFailed(exc.reason) from None
    cloud = CLOUDS[row.type]
    n = await ledger.replace_lines(session, org_id, row.id, cloud, s, e, lines)
    return {"provider_id": row.id, "cloud": cloud, "start": s.isoformat(), "end": e.isoformat(), "imported": n}
