"""The gateway's limiter: plan a request's limits, ask the backend, answer or refuse,
settle real usage when the response ends, and report budget thresholds crossed.

When the backend (Redis) is unreachable, `limits.on_redis_error` decides:
`open` serves without limits, `closed` refuses with 503. Either way the answer
comes within a bounded time, and the outage is logged once, as is the recovery.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bonito.limits.base import (
    BackendDown,
    BudgetCrossing,
    LimitBackend,
    LimitExceeded,
    LimitPlan,
    RateDecision,
    Verdict,
    to_pico,
    window_headers,
)
from bonito.limits.policy import plan_request
from bonito.snapshot import Overlay
from bonito.usage.tags import label

if TYPE_CHECKING:
    from bonito.snapshot import KeyEntry, Snapshot
    from bonito.usage.record import UsageRecord

log = logging.getLogger("bonito.limits")
CALL_TIMEOUT_S = 3.0  # well inside the 5 s every request is answered in, Redis down or not

CrossingListener = Callable[[BudgetCrossing], None]


class Governor:
    """Implements the gateway's RequestLimiter over a swappable LimitBackend."""

    def __init__(self, backend: LimitBackend, *, clock: Callable[[], float] = time.time,
                 on_crossing: CrossingListener | None = None) -> None:
        self.backend = backend
        self.clock = clock
        self.on_crossing = on_crossing
        self.overlay = Overlay()
        self._failing = False

    async def check(self, key: KeyEntry, snap: Snapshot, body: dict[str, Any],
                    tags: Mapping[str, str] | None = None) -> RateDecision:
        plan = plan_request(key, snap, body, self.clock(), self.overlay, tags)
        try:
            if self.backend.remote:
                async with asyncio.timeout(CALL_TIMEOUT_S):
                    verdict = await self.backend.admit(plan)
            else:  # in-process counters answer at once: no timer to arm
                verdict = await self.backend.admit(plan)
        except Exception as exc:  # a broken store never turns into a 500
            return self._unavailable(exc, snap.limits.on_redis_error, plan)
        if self._failing:
            self._failing = False
            log.info("limits are enforced again")
        if not verdict.allowed:
            raise refusal(plan, verdict)
        thresholds: tuple[float, ...] = ()
        if plan.budgets:
            extra = self.overlay.thresholds.get(key.org_id, ())
            thresholds = tuple(sorted({*snap.alerts.budget_thresholds, *extra}))
        return RateDecision(plan, verdict, thresholds)

    def _unavailable(self, exc: Exception, mode: str, plan: LimitPlan) -> RateDecision:
        if not self._failing:
            self._failing = True
            what = "serving without limits" if mode == "open" else "refusing requests with 503"
            if isinstance(exc, BackendDown | TimeoutError):
                log.error("limit store unreachable (%s); %s (limits.on_redis_error: %s) until it answers",
                          exc or type(exc).__name__, what, mode)
            else:
                log.exception("limit check failed; %s (limits.on_redis_error: %s)", what, mode)
        if mode == "closed":
            raise LimitExceeded(503, "Rate limits cannot be checked right now (the limit store is "
                                     "unreachable); retry shortly.", "service_unavailable",
                                "limits_unavailable", [(b"retry-after", b"1")])
        return RateDecision(plan, None)

    async def settle(self, decision: RateDecision, record: UsageRecord) -> None:
        if decision.settled or not decision.needs_settle or decision.plan is None:
            return
        decision.settled = True
        plan = decision.plan
        cost = to_pico(record.cost_usd)
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                after = await self.backend.settle(plan, record.prompt_tokens + record.completion_tokens,
                                                  cost, self.clock())
        except Exception as exc:
            log.warning("could not count usage of request %s against limits: %s", record.request_id,
                        exc or type(exc).__name__)
            return
        if self.on_crossing is None or not cost:
            return
        for budget, spend in zip(plan.budgets, after, strict=True):
            before = spend - cost
            for t in decision.thresholds:
                mark = budget.cap_pico * int(t * 1000) // 100_000
                if before < mark <= spend:
                    self.on_crossing(BudgetCrossing(budget, t, spend))

    async def ping(self) -> bool:
        return await self.backend.ping()

    def use_backend(self, backend: LimitBackend) -> LimitBackend:
        """Serve from a new backend (redis_url changed); answers the old one for closing."""
        old, self.backend = self.backend, backend
        self._failing = False
        return old

    async def aclose(self) -> None:
        await self.backend.aclose()


def refusal(plan: LimitPlan, verdict: Verdict) -> LimitExceeded:
    """The 429 for a full window or a spent budget."""
    if verdict.refused_budget is not None:
        b = plan.budgets[verdict.refused_budget]
        wait = max(1, int(b.period_end - plan.now + 0.999))
        whose = "this key" if b.scope == "key" else "this organization"
        if b.tag:
            whose += f" for {label(dict(b.tag))}"
        return LimitExceeded(
            429, f"Budget exceeded: {whose} has spent its {b.period} budget of "
                 f"${b.cap_pico / 10**12:g}. It resets at the next UTC period boundary.",
            "insufficient_quota", "budget_exceeded",
            [(b"retry-after", str(wait).encode()), *window_headers(verdict.windows)])
    assert verdict.refused_window is not None
    w = plan.windows[verdict.refused_window]
    state = verdict.windows[verdict.refused_window]
    wait = max(1, int(-(-state.reset_s // 1)))
    whose = "this key" if w.scope == "key" else "this organization"
    unit = "requests" if w.kind == "requests" else "tokens"
    headers = [(b"retry-after", str(wait).encode()), *window_headers(verdict.windows)]
    return LimitExceeded(
        429, f"Rate limit reached: {state.limit} {unit} per minute for {whose}. Retry after {wait}s.",
        "rate_limit_exceeded", "rate_limit_exceeded", headers)
