"""Per routing-policy statistics from usage rows: traffic split, failovers, errors, cost, savings.

Pure functions over usage rows (dicts shaped like `UsageRecord.to_json()` or
the `usage_records` table: `route`, `model_used`, `status`, `cost_usd`,
`prompt_tokens`, `completion_tokens`, `attempts`, `decision`); the control
plane reads the rows, this computes. Savings compare what was paid with what
the same tokens would have cost on the route's most expensive target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bonito.usage.pricing import Price


@dataclass(slots=True)
class PolicyStats:
    route: str
    requests: int = 0
    errors: int = 0  # answered with status >= 400
    failovers: int = 0  # answered by a target other than the plan's first choice
    retried: int = 0  # needed more than one upstream call
    distribution: dict[str, int] = field(default_factory=dict)  # answering target -> requests
    cost_usd: Decimal = Decimal(0)
    baseline_cost_usd: Decimal | None = Decimal(0)  # None when a target's price is unknown
    latency_ms_total: float = 0.0

    @property
    def savings_usd(self) -> Decimal | None:
        return None if self.baseline_cost_usd is None else self.baseline_cost_usd - self.cost_usd

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: money as decimal strings, shares as fractions of the answered requests."""
        answered = sum(self.distribution.values())
        savings = self.savings_usd
        base = self.baseline_cost_usd
        return {
            "route": self.route, "requests": self.requests, "errors": self.errors,
            "error_rate": self.errors / self.requests if self.requests else 0.0,
            "failovers": self.failovers, "retried": self.retried,
            "distribution": {m: {"requests": n, "share": n / answered if answered else 0.0}
                             for m, n in sorted(self.distribution.items())},
            "cost_usd": str(self.cost_usd),
            "baseline_cost_usd": None if base is None else str(base),
            "savings_usd": None if savings is None else str(savings),
            "savings_pct": float(savings / base * 100) if savings is not None and base else None,
            "avg_latency_ms": self.latency_ms_total / self.requests if self.requests else 0.0,
        }


def policy_stats(rows: Iterable[Mapping[str, Any]],
                 prices: Mapping[str, Price] | None = None) -> dict[str, PolicyStats]:
    """Statistics per route over `rows` (rows without a route are ignored).

    `prices` maps public model names to their Price (e.g. `{n: m.price for n, m in
    snapshot.models.items()}`); without it, or when a considered target has no
    price, baseline and savings are None.
    """
    out: dict[str, PolicyStats] = {}
    for row in rows:
        route = row.get("route")
        if not route:
            continue
        s = out.get(route)
        if s is None:
            s = out[route] = PolicyStats(route)
        s.requests += 1
        status = int(row.get("status") or 0)
        used = row.get("model_used")
        decision = row.get("decision") or {}
        order = decision.get("order") or []
        if status >= 400:
            s.errors += 1
        elif used:
            s.distribution[used] = s.distribution.get(used, 0) + 1
            if order and used != order[0]:
                s.failovers += 1
        if int(row.get("attempts") or 0) > 1:
            s.retried += 1
        cost = Decimal(str(row.get("cost_usd") or 0))
        s.cost_usd += cost
        s.latency_ms_total += float(row.get("latency_ms") or 0.0)
        if s.baseline_cost_usd is not None:
            candidates = decision.get("considered") or order or ([used] if used else [])
            s.baseline_cost_usd = _add_baseline(s.baseline_cost_usd, candidates, row, cost, prices)
    return out


def _add_baseline(total: Decimal, candidates: list[str], row: Mapping[str, Any], cost: Decimal,
                  prices: Mapping[str, Price] | None) -> Decimal | None:
    if not candidates or int(row.get("status") or 0) >= 400:
        return total + cost  # nothing was served, so nothing to compare: count what it cost
    if prices is None or any(c not in prices for c in candidates):
        return None
    pt, ct = int(row.get("prompt_tokens") or 0), int(row.get("completion_tokens") or 0)
    return total + max(prices[c].cost(pt, ct) for c in candidates)
