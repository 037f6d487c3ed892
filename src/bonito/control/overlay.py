"""Limits set through the API (org limits, budgets, budget alert thresholds), read from the
database into the governance overlay by the database source, in the same poll as the snapshot."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.config.schema import BudgetConfig, OrgConfig, ThrottleConfig
from bonito.snapshot import KeyLimits, Overlay
from bonito.store.governance import AlertRuleRow, BudgetRow, OrgLimitsRow


def budget_config(row: BudgetRow) -> BudgetConfig:
    throttle = None
    if row.throttle_requests_per_minute:
        throttle = ThrottleConfig(at_percent=row.throttle_at_percent or 90,
                                  requests_per_minute=row.throttle_requests_per_minute)
    return BudgetConfig.model_validate({"usd": row.usd, "period": row.period, "hard": row.hard,
                                        "throttle": throttle, "tag": row.tag or None})


async def load_overlay(session: AsyncSession) -> Overlay:
    """Every org's limits and budgets set through the API."""
    orgs: dict[str, OrgConfig] = {}
    for lim in (await session.scalars(select(OrgLimitsRow))).all():
        orgs[lim.org_id] = OrgConfig(requests_per_minute=lim.requests_per_minute,
                                     tokens_per_minute=lim.tokens_per_minute)
    keys: dict[str, KeyLimits] = {}
    tagged: dict[str, list[tuple[str | None, BudgetConfig]]] = {}
    for b in (await session.scalars(select(BudgetRow))).all():
        if b.tag:
            tagged.setdefault(b.org_id, []).append((b.key_id, budget_config(b)))
        elif b.key_id:
            keys[b.key_id] = KeyLimits(budget=budget_config(b))
        else:
            orgs[b.org_id] = orgs.get(b.org_id, OrgConfig()).model_copy(update={"budget": budget_config(b)})
    thresholds: dict[str, set[float]] = {}
    for r in (await session.scalars(select(AlertRuleRow).where(
            AlertRuleRow.kind == "budget", AlertRuleRow.enabled.is_(True)))).all():
        thresholds.setdefault(r.org_id, set()).add(r.threshold)
    return Overlay(orgs, keys, {org: tuple(sorted(ts)) for org, ts in thresholds.items()},
                   {org: tuple(bs) for org, bs in tagged.items()})
