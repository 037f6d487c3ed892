"""FastAPI dependencies as `Annotated` aliases: the context, a session, the caller and their role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.errors import Forbidden, NotFound, Unauthorized
from bonito.control.security import TokenError
from bonito.store.accounts import Membership, User
from bonito.store.catalog import GatewayKeyRow, ModelRow, ProviderRow, RoutingPolicyRow
from bonito.store.governance import AlertRuleRow, AlertWebhookRow, BudgetRow, NotificationRow

ROLES = ("viewer", "member", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller, acting in one org with one role."""

    user_id: str
    email: str
    org_id: str
    role: str
    is_platform_admin: bool
    ip: str | None

    def can(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]


def get_ctx(request: Request) -> ControlContext:
    ctx: ControlContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[ControlContext, Depends(get_ctx)]


async def get_session(ctx: CtxDep) -> AsyncIterator[AsyncSession]:
    async with ctx.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="An access token from /api/auth/login")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_principal(
    request: Request,
    ctx: CtxDep,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if creds is None or not creds.credentials:
        raise Unauthorized()
    try:
        claims = ctx.tokens.verify(creds.credentials)
    except TokenError:
        raise Unauthorized("Invalid or expired access token") from None
    row = (await session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == claims.user_id, Membership.org_id == claims.org_id, User.is_active.is_(True))
    )).first()
    if row is None:
        raise Unauthorized("Invalid or expired access token")
    user, role = row
    platform_admin = user.is_platform_admin or user.email in ctx.settings.admin_emails
    return Principal(user.id, user.email, claims.org_id, role, platform_admin, client_ip(request))


CurrentUser = Annotated[Principal, Depends(current_principal)]


# Path parameters that name an org's object, and where that object lives.
_OWNED: dict[str, Any] = {
    "provider_id": ProviderRow, "model_id": ModelRow, "key_id": GatewayKeyRow, "policy_id": RoutingPolicyRow,
    "budget_id": BudgetRow, "rule_id": AlertRuleRow, "webhook_id": AlertWebhookRow,
    "notification_id": NotificationRow,
}


async def _names_foreign_object(ctx: ControlContext, principal: Principal, params: dict[str, Any]) -> bool:
    """Whether the path names an object that is not in the caller's org (it must then not exist for them)."""
    for name, value in params.items():
        table = _OWNED.get(name)
        if table is not None:
            where = (table.id == str(value), table.org_id == principal.org_id)
        elif name == "user_id":
            table = Membership
            where = (Membership.user_id == str(value), Membership.org_id == principal.org_id)
        else:
            continue
        async with ctx.sessions() as session:
            if await session.scalar(select(table.id).where(*where)) is None:
                return True
    return False


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers with at least `role` in their org.

    Existence comes before permission: another org's object answers 404 even to a
    viewer, so a 403 never confirms that an id exists."""

    async def check(principal: CurrentUser, request: Request, ctx: CtxDep) -> Principal:
        if not principal.can(role):
            if await _names_foreign_object(ctx, principal, dict(request.path_params)):
                raise NotFound("object")
            raise Forbidden(f"this action needs the {role} role")
        return principal

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Member = Annotated[Principal, Depends(require("member"))]
Admin = Annotated[Principal, Depends(require("admin"))]


async def platform_admin(principal: CurrentUser) -> Principal:
    if not principal.is_platform_admin:
        raise Forbidden("this action needs a platform admin")
    return principal


PlatformAdmin = Annotated[Principal, Depends(platform_admin)]
