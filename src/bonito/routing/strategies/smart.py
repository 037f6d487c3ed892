"""smart: each prompt to the cheapest price tier that its score says will do.

The latest user message is scored in [0, 1] by the route's scorer
(`bonito.routing.scoring`; 1 = needs the strongest model). Targets grouped by
list price (input + output per million tokens) form tiers, cheapest first;
the cuts between tiers come from `smart.thresholds`, `smart.strong_share`
(calibrated on the scorer's score distribution), else `smart.threshold`
(default 0.5: at or above it the most expensive tier, below it the cheapest).
The chosen tier's targets are tried first, then the stronger tiers upwards,
then the weaker ones downwards.
"""

from __future__ import annotations

from bonito.config.schema import SmartConfig
from bonito.routing.request import RouteRequest
from bonito.routing.scoring import Scorer, scorer
from bonito.routing.strategy import Choice, Pool, StrategyDeps
from bonito.snapshot import ModelEntry


def price_tiers(targets: tuple[ModelEntry, ...]) -> list[list[ModelEntry]]:
    """Targets grouped by list price, cheapest tier first; configured order within a tier."""
    by_price: dict[object, list[ModelEntry]] = {}
    for t in targets:
        by_price.setdefault(t.price.input_per_mtok + t.price.output_per_mtok, []).append(t)
    return [by_price[p] for p in sorted(by_price)]  # type: ignore[type-var]


def cuts(smart: SmartConfig, n_tiers: int, judge: Scorer) -> list[float]:
    """The ascending score cuts: the i-th is where traffic moves up a tier."""
    if smart.thresholds is not None:
        return list(smart.thresholds)
    if smart.strong_share is not None:
        # the strongest tier takes strong_share, each tier below it (but the cheapest) as much again
        n = max(1, n_tiers - 1)
        return [judge.threshold_for_share(min(1.0, smart.strong_share * (n - j))) for j in range(n)]
    return [smart.threshold]


def tier_of(score: float, cut: list[float], n_tiers: int) -> int:
    """How many cuts the score reaches, spread over the tiers (one cut: cheapest or most expensive)."""
    level = sum(1 for c in cut if score >= c)
    return level * (n_tiers - 1) // len(cut)


def tier_name(i: int, n_tiers: int) -> str:
    if i == n_tiers - 1 and n_tiers > 1:
        return "strong"
    if i == 0:
        return "weak"
    return "middle" if n_tiers == 3 else f"middle-{i}"


class Smart:
    def __init__(self, deps: StrategyDeps) -> None:
        pass

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice:
        judge = scorer()
        score, used = req.smart_score if req.smart_score is not None else (judge.score(req.last_user_text),
                                                                             judge.name)
        tiers = price_tiers(pool.targets)
        cut = cuts(pool.smart, len(tiers), judge)
        chosen = tier_of(score, cut, len(tiers))
        ordered = [*range(chosen, len(tiers)), *range(chosen - 1, -1, -1)]
        order = [t for i in ordered for t in tiers[i]]
        kind = tier_name(chosen, len(tiers))
        explained: dict[str, object] = {"score": round(score, 4), "threshold": round(cut[-1], 4),
                                        "tier": kind, "scorer": used}
        if len(cut) > 1:
            explained["thresholds"] = [round(c, 4) for c in cut]
        if pool.smart.strong_share is not None:
            explained["strong_share"] = pool.smart.strong_share
        shown = f"{cut[-1]:.4g}" if len(cut) == 1 else "/".join(f"{c:.4g}" for c in cut)
        return Choice(order, f"prompt score {score:.2f} vs threshold {shown}: {kind} tier, "
                             f"so '{order[0].name}' first", explained)
