"""The shapes limits are expressed in: a plan of windows and budgets, a backend's verdict,
the decision the gateway carries through a request, refusals and budget-threshold events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from bonito.snapshot import KeyEntry, Snapshot
    from bonito.usage.record import UsageRecord

Kind = Literal["requests", "tokens"]
Scope = Literal["key", "org"]
WINDOW_S = 60  # every rate limit is per minute, counted in one-second buckets
PICO = Decimal(10) ** 12


def to_pico(usd: Decimal) -> int:
    """USD as whole picodollars (exact for prices with up to six decimals per million tokens)."""
    return int((usd * PICO).to_integral_value(rounding=ROUND_CEILING))


def from_pico(pico: int) -> Decimal:
    return Decimal(pico) / PICO


@dataclass(frozen=True, slots=True)
class Window:
    """One sliding per-minute counter to check and charge: a key's or an org's requests or tokens."""

    bucket: str  # backend key, e.g. "req:key:key_ab12"
    kind: Kind
    scope: Scope
    limit: int
    charge: int  # 1 for requests; the token estimate for tokens


@dataclass(frozen=True, slots=True)
class Budget:
    """Spend in one UTC period for a key or an org, against a cap."""

    ledger: str  # backend key, e.g. "spend:key:key_ab12:monthly:2025-01"
    scope: Scope
    owner: str  # the key id or org id
    name: str
    org_id: str
    period: str
    period_id: str
    period_end: float  # epoch seconds of the next boundary
    cap_pico: int
    hard: bool
    throttle_pico: int | None = None
    throttle_limit: int | None = None
    throttle_window: int | None = None  # index into LimitPlan.windows
    tag: tuple[tuple[str, str], ...] = ()  # a tag budget: spend of requests carrying these tag values only


@dataclass(frozen=True, slots=True)
class LimitPlan:
    """Everything one request is checked and charged against."""

    windows: tuple[Window, ...]
    budgets: tuple[Budget, ...]
    now: float  # epoch seconds
    estimate: int = 0  # tokens charged to token windows before the call

    @property
    def token_windows(self) -> tuple[Window, ...]:
        return tuple(w for w in self.windows if w.kind == "tokens")


@dataclass(frozen=True, slots=True)
class WindowState:
    kind: Kind
    scope: Scope
    limit: int
    used: int
    reset_s: float  # until the window's oldest counted second expires

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A backend's answer: admitted and charged, or refused by one window or one budget."""

    windows: tuple[WindowState, ...]
    spend_pico: tuple[int, ...]
    refused_window: int | None = None
    refused_budget: int | None = None

    @property
    def allowed(self) -> bool:
        return self.refused_window is None and self.refused_budget is None


class LimitBackend(Protocol):
    """Where counters live: one process's memory, or Redis shared by every replica."""

    @property
    def available(self) -> bool: ...

    # True when calls may wait on the network (and so need a timeout)
    remote: bool

    async def admit(self, plan: LimitPlan) -> Verdict:
        """Refuse if a hard budget is spent or a window is full; otherwise charge every window."""
        ...

    async def settle(self, plan: LimitPlan, tokens: int, cost_pico: int, now: float) -> tuple[int, ...]:
        """Swap the token estimate for real usage and add the cost; answers spend per budget after it."""
        ...

    async def seed(self, budget: Budget, pico: int) -> None:
        """Raise a ledger to at least `pico` (recorded spend after a restart or a lost Redis)."""
        ...

    async def ping(self) -> bool: ...

    async def aclose(self) -> None: ...


class BackendDown(Exception):
    """The shared store cannot be reached; the configured fail mode applies."""


@dataclass(frozen=True, slots=True)
class BudgetCrossing:
    """Spend passed `threshold` percent of a budget: emitted once per threshold and period."""

    budget: Budget
    threshold: float
    spend_pico: int

    @property
    def spend_usd(self) -> Decimal:
        return from_pico(self.spend_pico)

    @property
    def cap_usd(self) -> Decimal:
        return from_pico(self.budget.cap_pico)


class LimitExceeded(Exception):
    """A refusal, with everything the gateway needs to answer it."""

    def __init__(self, status: int, message: str, type: str, code: str,
                 headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.headers = headers


@dataclass(slots=True)
class RateDecision:
    """An admitted request's limits: its response headers, and what to settle when it ends."""

    plan: LimitPlan | None = None
    verdict: Verdict | None = None
    thresholds: tuple[float, ...] = ()
    settled: bool = field(default=False)

    @property
    def needs_settle(self) -> bool:
        return self.plan is not None and self.verdict is not None and (
            bool(self.plan.budgets) or bool(self.plan.token_windows))

    def headers(self) -> list[tuple[bytes, bytes]]:
        """OpenAI's x-ratelimit-* headers for the tightest request and token windows."""
        if self.verdict is None:
            return []
        return window_headers(self.verdict.windows)


def window_headers(windows: tuple[WindowState, ...]) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for kind in ("requests", "tokens"):
        states = [w for w in windows if w.kind == kind]
        if not states:
            continue
        w = min(states, key=lambda s: s.remaining)
        out += [
            (f"x-ratelimit-limit-{kind}".encode(), str(w.limit).encode()),
            (f"x-ratelimit-remaining-{kind}".encode(), str(w.remaining).encode()),
            (f"x-ratelimit-reset-{kind}".encode(), format_reset(w.reset_s).encode()),
        ]
    return out


def format_reset(seconds: float) -> str:
    """Duration as OpenAI writes it in x-ratelimit-reset-*: '250ms', '12s', '1m0s'."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    whole = int(-(-seconds // 1))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60}s"
    return f"{whole // 3600}h{whole % 3600 // 60}m{whole % 60}s"


class RequestLimiter(Protocol):
    """What the gateway calls: check before the upstream call, settle when the response ends."""

    async def check(self, key: KeyEntry, snap: Snapshot, body: dict[str, Any],
                    tags: Mapping[str, str] | None = None) -> RateDecision:
        """Admit and charge the request (its tags decide which tag budgets apply), or raise LimitExceeded."""
        ...

    async def settle(self, decision: RateDecision, record: UsageRecord) -> None:
        """Count the call's real tokens and cost (once; never raises)."""
        ...

    async def aclose(self) -> None: ...
