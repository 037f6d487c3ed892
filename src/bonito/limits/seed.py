"""Spend recorded in the usage store, carried into the limiter: after a restart (memory
backend) or a Redis that lost its data, budgets still count the whole period."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.limits.base import Budget, LimitBackend, to_pico
from bonito.limits.periods import period_start
from bonito.store.usage import UsageRow


async def recorded_spend(session: AsyncSession, budget: Budget) -> int:
    """Picodollars recorded for the budget's key or org since its period began."""
    start = period_start(budget.period, datetime.fromtimestamp(budget.period_end - 1, UTC))
    column = UsageRow.key_id if budget.scope == "key" else UsageRow.org_id
    total = await session.scalar(select(func.sum(UsageRow.cost_usd)).where(
        column == budget.owner, UsageRow.created_at >= start,
        *[UsageRow.tags[k].as_string() == v for k, v in budget.tag]))
    return to_pico(total) if total else 0


async def seed_budgets(session: AsyncSession, backend: LimitBackend, budgets: list[Budget]) -> None:
    for budget in budgets:
        pico = await recorded_spend(session, budget)
        if pico:
            await backend.seed(budget, pico)
