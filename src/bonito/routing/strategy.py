"""The one small interface every routing strategy implements, and what it works on."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from bonito.config.schema import SmartConfig
from bonito.routing.observed import Observations
from bonito.routing.request import RouteRequest
from bonito.snapshot import ModelEntry


@dataclass(frozen=True, slots=True)
class Pool:
    """The targets a strategy orders: a route's, or those a conditional rule picked."""

    key: str  # names the pool for strategies that keep state (round robin, A/B draws)
    targets: tuple[ModelEntry, ...]
    weights: tuple[float | None, ...]
    smart: SmartConfig = field(default_factory=SmartConfig)  # the serving route's smart settings


@dataclass(slots=True)
class Choice:
    """A strategy's answer: every target, best first, and why."""

    order: list[ModelEntry]
    reason: str
    scores: dict[str, Any] = field(default_factory=dict)  # per target name: the numbers that ranked it


class Strategy(Protocol):
    """Orders a pool's targets for one request.

    With `commit=False` (a dry run) it answers exactly what the next real
    request would get, without advancing any state (counters, random draws).
    """

    def rank(self, pool: Pool, req: RouteRequest, commit: bool) -> Choice: ...


@dataclass(frozen=True, slots=True)
class StrategyDeps:
    """What a strategy may use besides the request: live observations and a random source."""

    observations: Observations
    rng: random.Random


def estimated_cost(target: ModelEntry, req: RouteRequest) -> Decimal:
    """The target's price for this request's estimated prompt and completion tokens."""
    return target.price.cost(req.prompt_tokens, req.completion_tokens)


def then_rest(first: ModelEntry, targets: tuple[ModelEntry, ...]) -> list[ModelEntry]:
    """`first`, then the other targets in configured order (the fallbacks)."""
    return [first, *(t for t in targets if t is not first)]
