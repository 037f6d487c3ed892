"""A routing policy's statistics over a window of its usage records (served by /api/routing-policies/{id}/stats)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.services.common import get_scoped
from bonito.control.services.usage import window
from bonito.control.snapshot import org_view
from bonito.routing.stats import PolicyStats, policy_stats
from bonito.store.catalog import RoutingPolicyRow
from bonito.store.usage import UsageRow

_COLUMNS = (UsageRow.route, UsageRow.model_used, UsageRow.status, UsageRow.cost_usd, UsageRow.prompt_tokens,
            UsageRow.completion_tokens, UsageRow.attempts, UsageRow.decision, UsageRow.latency_ms)


async def stats(ctx: ControlContext, session: AsyncSession, p: Principal, policy_id: str,
                start: datetime | None, end: datetime | None) -> dict[str, Any]:
    """Per-target split, failovers, errors, cost and savings against the policy's dearest target
    (default window: the last 30 days), priced with the org's current model prices."""
    row = await get_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy")
    lo, hi = window(start, end, timedelta(days=30))
    q = select(*_COLUMNS).where(UsageRow.org_id == p.org_id, UsageRow.route == row.name, UsageRow.created_at >= lo)
    if hi is not None:
        q = q.where(UsageRow.created_at < hi)
    view = org_view(ctx.get_snapshot(), p.org_id)
    prices = {name: m.price for name, m in view.models.items()} if view is not None else None
    result = await session.stream(q.execution_options(yield_per=2000))
    rows = [dict(r._mapping) async for r in result]
    computed = policy_stats(rows, prices).get(row.name) or PolicyStats(row.name)
    return {"policy_id": row.id, "start": lo, "end": hi, **computed.as_dict()}
