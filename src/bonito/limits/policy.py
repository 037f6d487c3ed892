"""Which limits a request meets: the key's own, else its org's and its tier's; budgets per period.

A key's own requests/tokens per minute, when set, is its limit and governs it
alone. A key without one gets its tier's per-key default (or
`limits.default_requests_per_minute`) and shares its org's cap — the org's own
value, else its tier's — with the org's other such keys. Settings made through
the API (the overlay) win over `bonito.yaml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bonito.config.schema import BudgetConfig, OrgConfig, TierConfig
from bonito.limits.base import WINDOW_S, Budget, Kind, LimitPlan, Scope, Window, to_pico
from bonito.limits.estimate import estimate_tokens
from bonito.limits.periods import period_end, period_id
from bonito.snapshot import Overlay
from bonito.usage.tags import matches, pairs, tag_id

if TYPE_CHECKING:
    from bonito.snapshot import KeyEntry, Snapshot

BUILTIN_TIERS: Mapping[str, TierConfig] = {
    "free": TierConfig(requests_per_minute=30),
    "pro": TierConfig(requests_per_minute=300),
    "enterprise": TierConfig(),  # custom: no org-wide cap unless the org sets one
}


def tier_of(key: KeyEntry, org: OrgConfig | None, snap: Snapshot) -> TierConfig:
    name = key.tier or (org.tier if org else None) or snap.default_tier
    return snap.tiers.get(name) or BUILTIN_TIERS.get(name) or TierConfig()


def plan_request(key: KeyEntry, snap: Snapshot, body: dict[str, Any], now: float,
                 overlay: Overlay, tags: Mapping[str, str] | None = None) -> LimitPlan:
    """The windows and budgets this request is checked against, with its token estimate."""
    org = overlay.orgs.get(key.org_id) or snap.orgs.get(key.org_id)
    tier = tier_of(key, org, snap)
    own = overlay.keys.get(key.id)
    windows: list[Window] = []
    # A route's rt- key has nowhere to set its own limit in bonito.yaml: the per-key default
    # (`limits.default_requests_per_minute`) would cap a whole route, so only org/tier caps bind it.
    key_default = tier.requests_per_minute if key.route is not None else (
        tier.requests_per_minute or snap.limits.default_requests_per_minute)
    _add(windows, key, "requests", 1,
         own=(own.requests_per_minute if own else None) or key.requests_per_minute,
         default=key_default,
         org_cap=(org.requests_per_minute if org else None) or tier.requests_per_minute)
    tpm_own = (own.tokens_per_minute if own else None) or key.tokens_per_minute
    tpm_org = (org.tokens_per_minute if org else None) or tier.tokens_per_minute
    estimate = 0
    if tpm_own or tier.tokens_per_minute or tpm_org:
        estimate = estimate_tokens(body)
        _add(windows, key, "tokens", estimate, own=tpm_own, default=tier.tokens_per_minute, org_cap=tpm_org)
    budgets: list[Budget] = []
    key_budget = (own.budget if own else None) or key.budget
    org_budget = org.budget if org is not None else None
    scoped = overlay.tag_budgets.get(key.org_id, ())
    if key_budget is not None or org_budget is not None or scoped:
        at = datetime.fromtimestamp(now, UTC)
        # a budget scoped to a tag value counts, and refuses, only the requests carrying it
        if key_budget is not None and matches(key_budget.tag, tags):
            budgets.append(_budget("key", key.id, key.name, key.org_id, key_budget, at, windows))
        if org_budget is not None and matches(org_budget.tag, tags):
            budgets.append(_budget("org", key.org_id, key.org_id, key.org_id, org_budget, at, windows))
        for kid, cfg in scoped:
            if (kid is None or kid == key.id) and matches(cfg.tag, tags):
                budgets.append(_budget("key", key.id, key.name, key.org_id, cfg, at, windows) if kid else
                               _budget("org", key.org_id, key.org_id, key.org_id, cfg, at, windows))
    return LimitPlan(tuple(windows), tuple(budgets), now, estimate)


def all_budgets(snap: Snapshot, overlay: Overlay, now: float) -> list[Budget]:
    """Every budget in force (keys' and orgs'), e.g. to seed spend from recorded usage."""
    at = datetime.fromtimestamp(now, UTC)
    out: dict[str, Budget] = {}
    for key in snap.keys.values():
        own = overlay.keys.get(key.id)
        cfg = (own.budget if own else None) or key.budget
        if cfg is not None:
            b = _budget("key", key.id, key.name, key.org_id, cfg, at, [])
            out[b.ledger] = b
    for org_id, org in {**snap.orgs, **overlay.orgs}.items():
        if org.budget is not None:
            b = _budget("org", org_id, org_id, org_id, org.budget, at, [])
            out[b.ledger] = b
    for org_id, scoped in overlay.tag_budgets.items():
        for kid, cfg in scoped:
            b = _budget("key" if kid else "org", kid or org_id, kid or org_id, org_id, cfg, at, [])
            out[b.ledger] = b
    return list(out.values())


def _add(windows: list[Window], key: KeyEntry, kind: Kind, charge: int, *, own: int | None,
         default: int | None, org_cap: int | None) -> None:
    prefix = "req" if kind == "requests" else "tok"
    if own:
        windows.append(Window(f"{prefix}:key:{key.id}", kind, "key", own, charge))
        return
    # the org's count includes the key's, so a per-key default at or above the org cap never binds
    if default and (org_cap is None or default < org_cap):
        windows.append(Window(f"{prefix}:key:{key.id}", kind, "key", default, charge))
    if org_cap:
        windows.append(Window(f"{prefix}:org:{key.org_id}", kind, "org", org_cap, charge))


def _budget(scope: Scope, owner: str, name: str, org_id: str, cfg: BudgetConfig, at: datetime,
            windows: list[Window]) -> Budget:
    pid = period_id(cfg.period, at)
    cap = to_pico(cfg.usd)
    throttle_pico = throttle_limit = throttle_window = None
    if cfg.throttle is not None:
        requests = [i for i, w in enumerate(windows) if w.kind == "requests"]
        same = [i for i in requests if windows[i].scope == scope]
        if same or requests:
            throttle_window = (same or requests)[0]
            throttle_pico = cap * int(cfg.throttle.at_percent * 1000) // 100_000
            throttle_limit = cfg.throttle.requests_per_minute
    tag = pairs(cfg.tag)
    ledger_owner = f"{owner}#{tag_id(tag)}" if tag else owner
    return Budget(
        ledger=f"spend:{scope}:{ledger_owner}:{cfg.period}:{pid}", scope=scope, owner=owner, name=name, tag=tag,
        org_id=org_id, period=cfg.period, period_id=pid, period_end=period_end(cfg.period, at).timestamp(),
        cap_pico=cap, hard=cfg.hard, throttle_pico=throttle_pico, throttle_limit=throttle_limit,
        throttle_window=throttle_window,
    )


__all__ = ["BUILTIN_TIERS", "WINDOW_S", "plan_request", "tier_of"]
