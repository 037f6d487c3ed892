"""Routing policies: stored per org, compiled into the gateway snapshot, and dry-run planned."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.config.schema import RouteConfig
from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.errors import Conflict, Invalid, NotFound
from bonito.control.schemas.routing import RoutingPolicyIn
from bonito.control.security import hash_token
from bonito.control.services import audit
from bonito.control.services.common import bump_version, delete_scoped, get_scoped, new_id, now
from bonito.control.services.keys import new_key
from bonito.control.snapshot import org_view
from bonito.gateway.errors import GatewayError
from bonito.store.catalog import GatewayKeyRow, ModelRow, RoutingPolicyRow

log = logging.getLogger("bonito.control")


def as_dict(row: RoutingPolicyRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "strategy": row.strategy, "targets": row.targets,
            "retries": {"max_attempts": row.retries}, "timeout_s": row.timeout_s,
            "circuit_breaker": {"failure_threshold": row.breaker_failures, "cooldown_s": row.breaker_cooldown_s,
                                "error_rate": row.breaker_error_rate, "window_s": row.breaker_window_s,
                                "min_requests": row.breaker_min_requests},
            "key_prefix": row.key_prefix, "key_last4": row.key_last4, "created_at": row.created_at,
            "updated_at": row.updated_at}


def _route_config(body: RoutingPolicyIn) -> None:
    """The same cross-field rules as bonito.yaml's routes (e.g. ab_test weights sum to 100)."""
    try:
        RouteConfig.model_validate({
            "strategy": body.strategy, "targets": [t.model_dump(exclude_none=True) for t in body.targets],
            "retries": body.retries.model_dump(), "timeout_s": body.timeout_s,
            "circuit_breaker": body.circuit_breaker.model_dump()})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if isinstance(p, str | int)] or ["targets"]
        raise Invalid(loc, str(err["msg"]).removeprefix("Value error, ")) from None


async def create(session: AsyncSession, p: Principal, body: RoutingPolicyIn) -> dict[str, Any]:
    _route_config(body)
    names = set((await session.execute(select(ModelRow.name).where(ModelRow.org_id == p.org_id))).scalars())
    for i, t in enumerate(body.targets):
        if t.model not in names:
            raise Invalid(["targets", i, "model"], f"unknown model '{t.model}'")
    if body.name in names:
        raise Conflict(f"'{body.name}' is already a model's name")
    if await session.scalar(select(RoutingPolicyRow.id).where(RoutingPolicyRow.org_id == p.org_id,
                                                              RoutingPolicyRow.name == body.name)):
        raise Conflict(f"a routing policy named '{body.name}' already exists")
    plaintext = body.key or (new_key("rt") if body.generate_key else None)
    key_hash = hash_token(plaintext) if plaintext else None
    if key_hash and (
        await session.scalar(select(RoutingPolicyRow.id).where(RoutingPolicyRow.key_hash == key_hash))
        or await session.scalar(select(GatewayKeyRow.id).where(GatewayKeyRow.key_hash == key_hash))
    ):
        raise Conflict("this key is already in use; choose another")
    row = RoutingPolicyRow(
        id=new_id("rte"), org_id=p.org_id, name=body.name, strategy=body.strategy,
        targets=[t.model_dump(exclude_none=True) for t in body.targets], retries=body.retries.max_attempts,
        timeout_s=body.timeout_s, breaker_failures=body.circuit_breaker.failure_threshold,
        breaker_cooldown_s=body.circuit_breaker.cooldown_s, breaker_error_rate=body.circuit_breaker.error_rate,
        breaker_window_s=body.circuit_breaker.window_s, breaker_min_requests=body.circuit_breaker.min_requests,
        key_hash=key_hash,
        key_prefix=plaintext[:7] if plaintext else None, key_last4=plaintext[-4:] if plaintext else None,
        created_at=now(), updated_at=now())
    session.add(row)
    await bump_version(session)
    audit.record(session, "routing_policy.create", actor=p, target_type="routing_policy", target_id=row.id,
                 details={"name": body.name, "strategy": body.strategy, "with_key": plaintext is not None})
    await session.commit()
    return {**as_dict(row), "key": plaintext}


async def list_all(session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
    rows = (await session.execute(select(RoutingPolicyRow).where(RoutingPolicyRow.org_id == p.org_id)
                                  .order_by(RoutingPolicyRow.created_at, RoutingPolicyRow.id))).scalars()
    return [as_dict(r) for r in rows]


async def get(session: AsyncSession, p: Principal, policy_id: str) -> dict[str, Any]:
    return as_dict(await get_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy"))


async def delete(session: AsyncSession, p: Principal, policy_id: str) -> None:
    await delete_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy", lambda row: audit.record(
        session, "routing_policy.delete", actor=p, target_type="routing_policy", target_id=policy_id,
        details={"name": row.name}))


async def dry_run(ctx: ControlContext, session: AsyncSession, p: Principal, policy_id: str,
                  request: dict[str, Any]) -> dict[str, Any]:
    """The plan the gateway would follow for this policy now: no upstream call is made."""
    row = await get_scoped(session, RoutingPolicyRow, p.org_id, policy_id, "routing policy")
    view = org_view(ctx.get_snapshot(), p.org_id)
    route = view.routes.get(row.name) if view else None
    if route is None or route.id != row.id:
        await ctx.refresh_snapshot()  # created a moment ago: compile now rather than wait for the poll
        view = org_view(ctx.get_snapshot(), p.org_id)
        route = view.routes.get(row.name) if view else None
    if route is None:
        raise NotFound("routing policy (its targets are not servable: check their models and providers)")
    planned: dict[str, Any] | None = None
    if ctx.plan_route is not None:
        try:
            planned = ctx.plan_route(route, request)
        except GatewayError as exc:  # the sample request is malformed
            raise Invalid("request", exc.message) from None
        except Exception as exc:  # never a 500 for a dry run: fall back to the configured order
            log.warning("dry run for routing policy %s failed (%s)", row.id, type(exc).__name__)
    if planned is None:
        planned = {"route": route.name, "strategy": route.strategy, "reason": "targets in configured order",
                   "targets": [{"model": t.name, "provider": t.provider_id, "provider_type": t.provider_type,
                                "upstream_model": t.upstream_model} for t in route.targets],
                   "first_target": route.targets[0].name if route.targets else None,
                   "max_attempts_per_target": route.retries.max_attempts, "timeout_s": route.timeout_s}
    weights = dict(zip((t.name for t in route.targets), route.weights, strict=False))
    for t in planned.get("targets", []):
        t.setdefault("weight", weights.get(t.get("model", "")))
    return {"policy_id": row.id, "dry_run": True, **planned}
