"""What a budget alert says: the key by its name, the organization as itself (never an internal id)."""

from __future__ import annotations

from bonito.alerts.model import budget_alert
from bonito.limits.base import Budget, BudgetCrossing


def _crossing(scope: str, owner: str, name: str) -> BudgetCrossing:
    budget = Budget(ledger=f"spend:{scope}:{owner}:monthly:2026-11", scope=scope,  # type: ignore[arg-type]
                    owner=owner, name=name, org_id="org_7f3a9c", period="monthly", period_id="2026-11",
                    period_end=0.0, cap_pico=10 * 10**12, hard=True)
    return BudgetCrossing(budget, 80.0, 8 * 10**12)


def test_an_org_budget_alert_speaks_of_the_organization() -> None:
    alert = budget_alert(_crossing("org", "org_7f3a9c", "org_7f3a9c"))
    assert alert.title == "Budget 80% reached: the organization spent $8.00 of $10.00 (monthly)"
    assert "org_7f3a9c" not in alert.title + alert.body
    assert alert.data["owner"] == "org_7f3a9c"  # machines (webhooks) still get the id


def test_a_key_budget_alert_names_the_key() -> None:
    alert = budget_alert(_crossing("key", "key_1b2c", "ci-pipeline"))
    assert alert.title.startswith("Budget 80% reached: key 'ci-pipeline' spent $8.00")
    assert "Requests are still served" not in alert.body
