"""Target hooks that also count failed upstream calls, follow breakers and trace each upstream call."""

from __future__ import annotations

from bonito.observability.context import current_request
from bonito.observability.telemetry import Telemetry
from bonito.observability.tracing import Tracing
from bonito.routing.hooks import Admission, AttemptResult, TargetHooks
from bonito.routing.plan import Plan
from bonito.snapshot import ModelEntry


def observed_hooks(inner: TargetHooks, telemetry: Telemetry) -> TargetHooks:
    if telemetry.tracing is not None:
        return TracedHooks(inner, telemetry, telemetry.tracing)
    return MeteredHooks(inner, telemetry)


class MeteredHooks(TargetHooks):
    """`inner`'s decisions, plus bonito_upstream_errors_total and bonito_circuit_breaker_open."""

    def __init__(self, inner: TargetHooks, telemetry: Telemetry) -> None:
        self.inner = inner
        self.metrics = telemetry.metrics

    async def admit(self, plan: Plan, target: ModelEntry) -> Admission | None:
        return await self.inner.admit(plan, target)

    def started(self, target: ModelEntry) -> None:
        self.inner.started(target)

    def released(self, target: ModelEntry, total_ms: float | None) -> None:
        self.inner.released(target, total_ms)

    def finished(self, plan: Plan, target: ModelEntry, admission: Admission, result: AttemptResult,
                 ms: float, stream: bool) -> bool:
        again = self.inner.finished(plan, target, admission, result, ms, stream)
        if result == "failure" or result == "answered":
            self.metrics.upstream_failed(target.provider_id)
        if (result == "failure" or admission == "probe") and plan.breaker is not None \
                and plan.breaker_route is not None:
            # only a failure or a probe's end moves a breaker; `again` is False while it is open
            self.metrics.breaker(plan.breaker_route, target.name, not again)
        return again


class TracedHooks(MeteredHooks):
    """MeteredHooks plus a CLIENT span per upstream call, child of the request's span."""

    def __init__(self, inner: TargetHooks, telemetry: Telemetry, tracing: Tracing) -> None:
        super().__init__(inner, telemetry)
        self.tracing = tracing

    def started(self, target: ModelEntry) -> None:
        self.inner.started(target)
        ctx = current_request.get()
        if ctx is not None:
            self.tracing.start_attempt(ctx, target.name, target.upstream_model, target.provider_id,
                                       target.provider_type)

    def finished(self, plan: Plan, target: ModelEntry, admission: Admission, result: AttemptResult,
                 ms: float, stream: bool) -> bool:
        again = super().finished(plan, target, admission, result, ms, stream)
        ctx = current_request.get()
        if ctx is not None:
            self.tracing.attempt_result(ctx, result)
        return again

    def released(self, target: ModelEntry, total_ms: float | None) -> None:
        """The call is over (a stream: its last chunk was read): its span ends."""
        self.inner.released(target, total_ms)
        ctx = current_request.get()
        if ctx is not None:
            self.tracing.end_attempt(ctx)
