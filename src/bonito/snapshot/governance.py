"""Limits and budgets set through the API (the governance overlay): they win over `bonito.yaml`'s
and travel beside the snapshot (the database source loads both in one poll; the agent pulls both)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bonito.config.schema import BudgetConfig, OrgConfig


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """A key's limits set through the API (None: as configured elsewhere)."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    budget: BudgetConfig | None = None


@dataclass(frozen=True, slots=True)
class Overlay:
    """Org and key limits from the database, swapped whole when they change."""

    orgs: Mapping[str, OrgConfig] = field(default_factory=dict)
    keys: Mapping[str, KeyLimits] = field(default_factory=dict)
    thresholds: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # budget alert % by org
    # budgets scoped to a tag value, by org: (key id, or None for the whole org; the budget)
    tag_budgets: Mapping[str, tuple[tuple[str | None, BudgetConfig], ...]] = field(default_factory=dict)
    # spend recorded elsewhere, by (scope, owner, period id), in picodollars: the agent's pull carries
    # it; a server with the usage store reads it from there instead
    recorded: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
