"""Routing policies: stored per org, compiled into the gateway snapshot, and dry-run planned."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.errors import Conflict, Invalid, NotFound
from bonito.control.schemas.routing import RoutingPolicyIn, RoutingPolicyPatch
from bonito.control.security import hash_token
from bonito.control.services import audit, policy_config
from bonito.control.services.common import aware, bump_version, delete_scoped, get_scoped, new_id, now
from bonito.control.services.keys import new_key
from bonito.control.snapshot import org_view
from bonito.routing.errors import RequestRefused
from bonito.store.catalog import ControlState, GatewayKeyRow, ModelRow, RoutingPolicyRow

log = logging.getLogger("bonito.control")


def as_dict(row: RoutingPolicyRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, **policy_config.as_fields(policy_config.read(row)), "key": None,
            "key_prefix": row.key_prefix, "key_last4": row.key_last4, "created_at": aware(row.created_at),
            "updated_at": aware(row.updated_at)}


def _invalid(exc: ValidationError) -> Invalid:
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if isinstance(p, str | int)]
    return Invalid(loc, str(err["msg"]).removeprefix("Value error, "))


async def _check_names(session: AsyncSession, p: Principal, body: RoutingPolicyIn, policy_id: str | None) -> None:
    """Targets and rules name this org's models and routes (as bonito.yaml's cross-references)."""
    models = set((await session.execute(select(ModelRow.name).where(ModelRow.org_id == p.org_id))).scalars())
    others = {n for i, n in (await session.execute(select(RoutingPolicyRow.id, RoutingPolicyRow.name)
                                                   .where(RoutingPolicyRow.org_id == p.org_id))).tuples()
              if i != policy_id}
    for i, t in enumerate(body.targets):
        if t.model not in models:
            raise Invalid(["targets", i, "model"], f"unknown model '{t.model}'")
    for j, rule in enumerate(body.rules):
        if rule.route is not None and (rule.route not in others or rule.route == body.name):
            raise Invalid(["rules", j, "route"], f"unknown route '{rule.route}'")
        for n, target in enumerate(rule.targets or []):
            if target not in models:
                raise Invalid(["rules", j, "targets", n], f"unknown model '{target}'")
    if body.name in models:
        raise Conflict(f"'{body.name}' is already a model's name")
    if body.name in others:
        raise Conflict(f"a routing policy named '{body.name}' already exists")


async def _bind_key(session: AsyncSession, row: RoutingPolicyRow, plaintext: str | None) -> None:
    key_hash = hash_token(plaintext) if plaintext else None
    if key_hash and key_hash != row.key_hash and (
        await session.scalar(select(RoutingPolicyRow.id).where(RoutingPolicyRow.key_hash == key_hash))
        or await session.scalar(select(GatewayKeyRow.id).where(GatewayKeyRow.key_hash == key_hash))
    ):
        raise Conflict("this key is already in use; choose another")
    row.key_hash = key_hash
    row.key_prefix = plaintext[:7] if plaintext else None
    row.key_last4 = plaintext[-4:] if plaintext else None


async def create(session: AsyncSession, p: Principal, body: RoutingPolicyIn) -> dict[str, Any]:
    await _check_names(session, p, body, None)
    plaintext = body.key or (new_key("rt") if body.generate_key else None)
    row = RoutingPolicyRow(id=new_id("rte"), org_id=p.org_id, name=body.name, created_at=now(), updated_at=now())
    await _bind_key(session, row, plaintext)
    policy_config.write(row, body)
    session.add(row)
    await bump_version(session)
    audit.record(session, "routing_policy.create", actor=p, target_type="routing_policy", target_id=row.id,
                 details={"name": body.name, "strategy": body.strategy, "with_key": plaintext is not None})
    await session.commit()
    return {**as_dict(row), "key": plaintext}


def _merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7396): objects merge field by field, null removes (back to the default)."""
    out = dict(current)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


async def update(session: AsyncSession, p: Principal, policy_id: str, patch: RoutingPolicyPatch) -> dict[str, Any]:
    """Change any fields of a policy (the rest are kept); checked as a whole, like a new one."""
    row = await get_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy")
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    rekey = "key" in changes or bool(changes.get("generate_key"))
    current = {"name": row.name, **policy_config.as_fields(policy_config.read(row))}
    fields = {k: v for k, v in changes.items() if k not in ("key", "generate_key")}
    try:
        body = RoutingPolicyIn.model_validate(_merge(current, fields))
    except ValidationError as exc:
        raise _invalid(exc) from None
    await _check_names(session, p, body, row.id)
    plaintext = (changes.get("key") or (new_key("rt") if changes.get("generate_key") else None)) if rekey else None
    if rekey:
        await _bind_key(session, row, plaintext)
    if body.name != row.name:
        await _rename_references(session, p.org_id, row.name, body.name)
    row.name = body.name
    policy_config.write(row, body)
    row.updated_at = now()
    await bump_version(session)
    audit.record(session, "routing_policy.update", actor=p, target_type="routing_policy", target_id=row.id,
                 details={"name": row.name, "fields": sorted(changes), "with_key": row.key_hash is not None})
    await session.commit()
    return {**as_dict(row), "key": plaintext}


async def _referrers(session: AsyncSession, org_id: str, name: str) -> list[RoutingPolicyRow]:
    """The org's other policies whose rules send requests to the policy named `name`."""
    rows = (await session.execute(select(RoutingPolicyRow).where(RoutingPolicyRow.org_id == org_id))).scalars()
    return [r for r in rows if r.name != name and any(rule.route == name for rule in policy_config.read(r).rules)]


async def _rename_references(session: AsyncSession, org_id: str, old: str, new: str) -> None:
    """Rules naming a renamed policy follow it, so renaming never leaves a rule pointing nowhere."""
    for other in await _referrers(session, org_id, old):
        cfg = policy_config.read(other)
        rules = [r.model_copy(update={"route": new}) if r.route == old else r for r in cfg.rules]
        policy_config.write(other, cfg.model_copy(update={"rules": rules}))
        other.updated_at = now()


async def list_all(session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
    rows = (await session.execute(select(RoutingPolicyRow).where(RoutingPolicyRow.org_id == p.org_id)
                                  .order_by(RoutingPolicyRow.created_at, RoutingPolicyRow.id))).scalars()
    return [as_dict(r) for r in rows]


async def get(session: AsyncSession, p: Principal, policy_id: str) -> dict[str, Any]:
    return as_dict(await get_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy"))


async def delete(session: AsyncSession, p: Principal, policy_id: str) -> None:
    row = await get_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy")
    if users := await _referrers(session, p.org_id, row.name):
        names = ", ".join(f"'{r.name}'" for r in users)
        raise Conflict(f"routing policy '{row.name}' is named by the rules of {names}; change those rules first")
    await delete_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy", lambda row: audit.record(
        session, "routing_policy.delete", actor=p, target_type="routing_policy", target_id=policy_id,
        details={"name": row.name}))


async def dry_run(ctx: ControlContext, session: AsyncSession, p: Principal, policy_id: str,
                  request: dict[str, Any]) -> dict[str, Any]:
    """The plan the gateway would follow for this policy now: no upstream call is made."""
    row = await get_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy")
    version = int(await session.scalar(select(ControlState.version).where(ControlState.id == 1)) or 0)
    view = org_view(ctx.get_snapshot(), p.org_id)
    route = view.routes.get(row.name) if view else None
    if route is None or route.id != row.id or ctx.get_snapshot().version < version:
        await ctx.refresh_snapshot()  # changed a moment ago: compile now rather than wait for the poll
        view = org_view(ctx.get_snapshot(), p.org_id)
        route = view.routes.get(row.name) if view else None
    if route is None:
        raise NotFound("routing policy (its targets are not servable: check their models and providers)")
    planned: dict[str, Any] | None = None
    if ctx.plan_route is not None:
        try:
            planned = ctx.plan_route(route, request)
        except RequestRefused as exc:  # the sample request is malformed
            raise Invalid("request", exc.message) from None
        except Exception as exc:  # never a 500 for a dry run: fall back to the configured order
            log.warning("dry run for routing policy %s failed (%s)", row.id, type(exc).__name__)
    if planned is None:
        planned = {"route": route.name, "strategy": route.strategy, "reason": "targets in configured order",
                   "rule": None,
                   "targets": [{"model": t.name, "provider": t.provider_id, "provider_type": t.provider_type,
                                "upstream_model": t.upstream_model} for t in route.targets],
                   "first_target": route.targets[0].name if route.targets else None,
                   "max_attempts_per_target": route.retries.max_attempts, "timeout_s": route.timeout_s}
    weights = dict(zip((t.name for t in route.targets), route.weights, strict=False))
    for t in planned.get("targets", []):
        t.setdefault("weight", weights.get(t.get("model", "")))
    return {"policy_id": row.id, "dry_run": True, **planned}
