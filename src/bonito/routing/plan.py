"""A routing decision: which targets to try, in which order, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bonito.config.schema import BreakerConfig
from bonito.snapshot import DEFAULT_ORG, ModelEntry


@dataclass(slots=True)
class Attempt:
    """One upstream call made (or a target skipped) while serving a request."""

    model: str
    provider: str
    outcome: str  # "ok" | "error" | "skipped"
    status: int | None = None
    latency_ms: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "provider": self.provider, "outcome": self.outcome,
                "status": self.status, "latency_ms": round(self.latency_ms, 3), "error": self.error}


@dataclass(slots=True)
class Plan:
    """Targets in the order they will be tried, with the reason for that order."""

    targets: list[ModelEntry]
    strategy: str
    reason: str
    route: str | None = None  # the route the request addressed (by name or rt- key)
    org_id: str = DEFAULT_ORG  # whose routing state (breakers) the plan uses
    max_attempts: int = 1  # per target
    timeout_s: float | None = None  # total, across attempts; None = the providers' own
    considered: list[str] = field(default_factory=list)
    attempt_timeout_s: float | None = None  # each upstream call
    breaker: BreakerConfig | None = None  # None: no circuit breakers (a plain model)
    breaker_route: str | None = None  # whose breakers apply (a rule may hand over to another route)
    rule: str | None = None  # the conditional rule that matched, if any
    scores: dict[str, Any] = field(default_factory=dict)  # per target: what ranked it

    def explain(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "route": self.route, "strategy": self.strategy, "reason": self.reason,
            "considered": self.considered or [t.name for t in self.targets],
            "order": [t.name for t in self.targets],
        }
        if self.rule is not None:
            out["rule"] = self.rule
        if self.breaker_route is not None and self.breaker_route != self.route:
            out["via_route"] = self.breaker_route
        if self.scores:
            out["scores"] = self.scores
        return out
