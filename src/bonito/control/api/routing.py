"""/api/routing-policies: routes through the API, and their dry run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from bonito.control.api.guards import Writable
from bonito.control.deps import Admin, CtxDep, Member, SessionDep, Viewer
from bonito.control.schemas.routing import DryRunIn, RoutingPolicyIn, RoutingPolicyOut, RoutingPolicyPatch
from bonito.control.services import routing, routing_stats

router = APIRouter(prefix="/api/routing-policies", tags=["routing policies"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RoutingPolicyOut)
async def create(body: RoutingPolicyIn, user: Admin, _w: Writable, session: SessionDep) -> Any:
    """A route (as in bonito.yaml's `routes:`); a bound rt- key, when asked for, is shown once."""
    return await routing.create(session, user, body)


@router.get("", response_model=list[RoutingPolicyOut])
async def list_policies(user: Viewer, session: SessionDep) -> Any:
    return await routing.list_all(session, user)


@router.get("/{policy_id}", response_model=RoutingPolicyOut)
async def get(policy_id: str, user: Viewer, session: SessionDep) -> Any:
    return await routing.get(session, user, policy_id)


@router.patch("/{policy_id}", response_model=RoutingPolicyOut)
async def update(policy_id: str, body: RoutingPolicyPatch, user: Admin, _w: Writable, session: SessionDep) -> Any:
    """Change any fields (the rest are kept); serving on every replica within 2 s. A new rt- key, when
    set or generated, is shown once."""
    return await routing.update(session, user, policy_id, body)


@router.delete("/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(policy_id: str, user: Admin, _w: Writable, session: SessionDep) -> Response:
    """Remove a policy and its rt- key; 409 while another policy's rules send requests to it."""
    await routing.delete(session, user, policy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{policy_id}/test")
async def dry_run(policy_id: str, user: Member, ctx: CtxDep, session: SessionDep,
                  body: DryRunIn | None = Body(default=None)) -> dict[str, Any]:
    """The plan the gateway would follow now, and why; nothing is sent upstream."""
    return await routing.dry_run(ctx, session, user, policy_id, body.request if body else {})


@router.get("/{policy_id}/stats")
async def stats(policy_id: str, user: Viewer, ctx: CtxDep, session: SessionDep,
                start: Annotated[datetime | None, Query(description="window start (ISO 8601); default: 30 days ago")]
                = None,
                end: Annotated[datetime | None, Query(description="window end, exclusive; default: now")] = None
                ) -> dict[str, Any]:
    """Traffic split per target, failovers, errors, cost, and savings against sending every call to the
    policy's most expensive target."""
    return await routing_stats.stats(ctx, session, user, policy_id, start, end)
