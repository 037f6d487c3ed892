"""What to change to spend less, computed from recorded usage, each with its evidence and monthly saving.

- `cheaper_model`: a model whose short requests (≤ 1,000 prompt and ≤ 300 completion tokens: the
  shapes a smaller model of the family serves well) would cost less on a cheaper model of the same
  family that the org already has; the saving is those requests' cost difference.
- `exact_cache`: a model or route that received the same request body several times (repeated
  request hashes); the saving is what the repeats cost.
- `idle_key`: a gateway key with no traffic for 30 days (revoke it: no saving, less exposure).
- `unused_provider`: a connected provider with no published model.
Savings are per 30 days, scaled up when the org has recorded usage for less than that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.costs.series import first_day
from bonito.store.usage import UsageRow
from bonito.usage.pricing import Price

U = UsageRow
WINDOW = timedelta(days=30)
SHORT_PROMPT, SHORT_COMPLETION = 1_000, 300
MIN_REQUESTS = 10  # fewer short requests than this say too little about a model's traffic
MIN_REPEATS = 3  # identical requests beyond the first, per model or route


@dataclass(frozen=True, slots=True)
class PricedModel:
    name: str
    upstream_model: str
    provider_type: str
    price: Price


@dataclass(frozen=True, slots=True)
class Inventory:
    """What the org has: models with their prices, providers with their published model count, keys."""

    models: Sequence[PricedModel]
    providers: Sequence[tuple[str, str, int]]  # id, name, models published on it
    keys: Sequence[tuple[str, str, datetime | None]]  # id, name, created (None: from bonito.yaml)


def family(model: PricedModel) -> str:
    """A model's family: the leading name of its upstream id (gpt, claude, gemini, nova, llama, …)."""
    name = model.upstream_model.lower()
    if model.provider_type == "bedrock":  # "us.anthropic.claude-…", "amazon.nova-…": drop region and vendor
        name = re.sub(r"^(?:[a-z-]+\.)?(?:[a-z0-9]+\.)", "", name)
    m = re.match(r"[a-z]+", name)
    return m.group(0) if m else name


def _usd(v: Decimal) -> float:
    return float(round(v, 6))


def _rec(kind: str, title: str, evidence: str, saving: Decimal, **details: Any) -> dict[str, Any]:
    return {"kind": kind, "title": title, "evidence": evidence, "monthly_saving_usd": _usd(saving),
            "details": details}


async def recommendations(session: AsyncSession, org_id: str, inv: Inventory, now: datetime
                          ) -> list[dict[str, Any]]:
    """Every recommendation for the org, largest saving first."""
    since = now - WINDOW
    first = await first_day(session, org_id)
    covered = WINDOW.days if first is None else max(1, min(WINDOW.days, (now.astimezone(UTC).date() - first).days + 1))
    scale = Decimal(WINDOW.days) / Decimal(covered)
    out = [*await _cheaper_models(session, org_id, inv, since, scale),
           *await _cacheable(session, org_id, since, scale),
           *await _idle_keys(session, org_id, inv, now, first),
           *_unused_providers(inv)]
    return sorted(out, key=lambda r: -r["monthly_saving_usd"])


async def _cheaper_models(session: AsyncSession, org_id: str, inv: Inventory, since: datetime, scale: Decimal
                          ) -> list[dict[str, Any]]:
    short = and_(U.prompt_tokens <= SHORT_PROMPT, U.completion_tokens <= SHORT_COMPLETION)
    model = func.coalesce(U.model_used, U.model_requested)
    q = (select(model, func.count(), func.sum(case((short, 1), else_=0)),
                func.sum(case((short, U.prompt_tokens), else_=0)), func.sum(case((short, U.completion_tokens), else_=0)),
                func.sum(case((short, U.cached_tokens), else_=0)), func.sum(case((short, U.cost_usd), else_=0)))
         .where(U.org_id == org_id, U.created_at >= since, U.status < 400).group_by(model))
    by_name: Mapping[str, PricedModel] = {m.name: m for m in inv.models}
    out = []
    for name, total, n, prompt, completion, cached, cost in (await session.execute(q)).all():
        current = by_name.get(name)
        if current is None or int(n or 0) < MIN_REQUESTS:
            continue
        spent = Decimal(cost or 0)
        best: tuple[Decimal, PricedModel] | None = None
        for other in inv.models:
            if other.name == name or family(other) != family(current):
                continue
            would = other.price.cost(int(prompt or 0), int(completion or 0), int(cached or 0))
            if would < spent and (best is None or spent - would > best[0]):
                best = (spent - would, other)
        if best is None:
            continue
        saving, other = best
        out.append(_rec(
            "cheaper_model", f"Send short requests for '{name}' to '{other.name}'",
            f"{n} of {total} successful requests to '{name}' in the last 30 days were short (at most "
            f"{SHORT_PROMPT} prompt and {SHORT_COMPLETION} completion tokens); they cost ${spent:.4f} and would "
            f"have cost ${spent - saving:.4f} on '{other.name}', a cheaper model of the same family.",
            saving * scale, model=name, cheaper_model=other.name, short_requests=int(n), requests=int(total),
            cost_usd=_usd(spent), cost_on_cheaper_usd=_usd(spent - saving)))
    return out


async def _cacheable(session: AsyncSession, org_id: str, since: datetime, scale: Decimal) -> list[dict[str, Any]]:
    n = func.count()
    q = (select(U.model_requested, U.request_hash, n, func.sum(U.cost_usd))
         .where(U.org_id == org_id, U.created_at >= since, U.status == 200, U.request_hash.is_not(None),
                U.cost_usd > 0)
         .group_by(U.model_requested, U.request_hash).having(n >= 2))
    repeats: dict[str | None, list[Any]] = {}
    for name, _, count, cost in (await session.execute(q)).all():
        slot = repeats.setdefault(name, [0, 0, Decimal(0)])
        slot[0] += 1
        slot[1] += int(count) - 1
        slot[2] += Decimal(cost or 0) * (int(count) - 1) / int(count)  # every copy after the first
    out = []
    for name, (bodies, extra, saving) in repeats.items():
        if extra < MIN_REPEATS:
            continue
        out.append(_rec(
            "exact_cache", f"Turn on the exact cache for '{name}'",
            f"{bodies} request bodies were sent to '{name}' more than once in the last 30 days: {extra} calls "
            f"repeated an earlier one exactly and cost ${saving:.4f} that a cache hit would not have.",
            saving * scale, model=name, repeated_bodies=bodies, repeated_calls=extra))
    return out


async def _idle_keys(session: AsyncSession, org_id: str, inv: Inventory, now: datetime, first: Any
                     ) -> list[dict[str, Any]]:
    since = now - WINDOW
    used = {k for (k,) in (await session.execute(
        select(U.key_id).where(U.org_id == org_id, U.created_at >= since).group_by(U.key_id))).all()}
    old_enough = first is not None and first <= since.astimezone(UTC).date()  # bonito.yaml keys: the install's age
    out = []
    for key_id, name, created in inv.keys:
        if key_id in used:
            continue
        if created is not None:
            created = created if created.tzinfo else created.replace(tzinfo=UTC)
            if created > since:
                continue
        elif not old_enough:
            continue
        out.append(_rec("idle_key", f"Revoke the idle key '{name}'",
                        f"Key '{name}' made no request in the last 30 days: revoking it removes a credential "
                        f"no one uses.", Decimal(0), key_id=key_id, key_name=name))
    return out


def _unused_providers(inv: Inventory) -> list[dict[str, Any]]:
    return [_rec("unused_provider", f"Publish a model on '{name}' or remove it",
                 f"Provider '{name}' is connected but has no published model: its credentials are kept and "
                 f"checked for nothing.", Decimal(0), provider_id=pid, provider_name=name)
            for pid, name, published in inv.providers if published == 0]
