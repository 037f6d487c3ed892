"""Sliding one-minute windows counted in one-second buckets, and the admit/settle rules.

The Redis backend's Lua scripts (`lua.py`) implement exactly these rules; the
memory backend calls them directly.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence

from bonito.limits.base import WINDOW_S, LimitPlan, Verdict, WindowState

Buckets = MutableMapping[int, int]  # second -> count


def count(buckets: Buckets, now_s: int, span: int = WINDOW_S) -> tuple[int, int | None]:
    """Total in the window ending at `now_s` and its oldest second; drops expired buckets."""
    if not buckets:
        return 0, None
    oldest = min(buckets)
    if oldest <= now_s - span:
        for sec in [s for s in buckets if s <= now_s - span]:
            del buckets[sec]
        if not buckets:
            return 0, None
        oldest = min(buckets)
    return sum(buckets.values()), oldest


def reset_s(oldest: int | None, now: float, span: int = WINDOW_S) -> float:
    """Seconds until the oldest counted second leaves the window (a full window when empty)."""
    start = oldest if oldest is not None else int(now)
    return max(0.001, start + span - now)


def effective_limits(plan: LimitPlan, spend: Sequence[int]) -> tuple[list[int], int | None]:
    """Window limits after throttling, and the first hard budget already spent (or None)."""
    limits = [w.limit for w in plan.windows]
    for j, (b, s) in enumerate(zip(plan.budgets, spend, strict=True)):
        if b.hard and s >= b.cap_pico:
            return limits, j
        if b.throttle_pico is not None and b.throttle_window is not None and b.throttle_limit is not None \
                and s >= b.throttle_pico:
            limits[b.throttle_window] = min(limits[b.throttle_window], b.throttle_limit)
    return limits, None


def admit(plan: LimitPlan, windows: Sequence[Buckets], spend: Sequence[int]) -> Verdict:
    """Check every hard budget and window; charge the windows only when all pass."""
    limits, spent = effective_limits(plan, spend)
    now_s = int(plan.now)
    states: list[WindowState] = []
    refused: int | None = None
    for i, (w, buckets) in enumerate(zip(plan.windows, windows, strict=True)):
        used, oldest = count(buckets, now_s)
        states.append(WindowState(w.kind, w.scope, limits[i], used, reset_s(oldest, plan.now)))
        if refused is None and used >= limits[i]:
            refused = i
    if spent is not None:  # the windows only report where they stand
        return Verdict(tuple(states), tuple(spend), refused_budget=spent)
    if refused is not None:
        return Verdict(tuple(states), tuple(spend), refused_window=refused)
    charged = []
    for w, buckets, st in zip(plan.windows, windows, states, strict=True):
        if w.charge:
            buckets[now_s] = buckets.get(now_s, 0) + w.charge
        charged.append(WindowState(st.kind, st.scope, st.limit, st.used + w.charge, st.reset_s))
    return Verdict(tuple(charged), tuple(spend))


def reconcile(buckets: Buckets, start_s: int, now_s: int, estimate: int, real: int) -> None:
    """Take the estimate back out of the second it was charged to; count real usage now."""
    if estimate and start_s in buckets:
        left = buckets[start_s] - estimate
        if left > 0:
            buckets[start_s] = left
        else:
            del buckets[start_s]
    if real:
        buckets[now_s] = buckets.get(now_s, 0) + real
