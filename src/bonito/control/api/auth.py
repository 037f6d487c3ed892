"""/api/auth: register, login, refresh, logout, me, accept an invitation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bonito.control.deps import CtxDep, CurrentUser, SessionDep, client_ip
from bonito.control.errors import Unauthorized
from bonito.control.schemas.auth import (
    AcceptInviteIn,
    InviteInfoOut,
    LoginIn,
    RefreshIn,
    RegisteredOut,
    RegisterIn,
    TokensOut,
    UserOut,
)
from bonito.control.security import TokenError
from bonito.control.services import accounts, invites

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=RegisteredOut)
async def register(body: RegisterIn, request: Request, ctx: CtxDep, session: SessionDep) -> Any:
    """Create an account and its org; the new user is the org's admin."""
    return await accounts.register(ctx, session, body, client_ip(request))


@router.post("/login", response_model=TokensOut)
async def login(body: LoginIn, request: Request, ctx: CtxDep, session: SessionDep) -> Any:
    return await accounts.login(ctx, session, body, client_ip(request))


@router.post("/refresh", response_model=TokensOut)
async def refresh(body: RefreshIn, request: Request, ctx: CtxDep, session: SessionDep) -> Any:
    """New tokens for a refresh token, which is retired (using it again revokes its whole family)."""
    return await accounts.refresh(ctx, session, body.refresh_token, client_ip(request))


_invite_bearer = HTTPBearer(auto_error=False, scheme_name="InvitationToken",
                            description="The invitation token from the link (`bni_…`)")


async def invite_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_invite_bearer)],
                       ctx: CtxDep) -> str:
    """The Bearer credential of an invitation call: missing or no valid credential at all is a 401 here,
    before the body is read, as on every authenticated call. A signed-in user's access token passes on
    (so a bad body is still named) and is refused by the handler: these calls take an invitation token."""
    if creds is None or not creds.credentials:
        raise Unauthorized("Missing invitation token")
    token = creds.credentials
    if not token.startswith(invites.TOKEN_PREFIX):
        try:
            ctx.tokens.verify(token)
        except TokenError:
            raise Unauthorized("Missing or malformed invitation token") from None
    return token


InviteToken = Annotated[str, Depends(invite_token)]


@router.get("/invite", response_model=InviteInfoOut)
async def invite_info(token: InviteToken, session: SessionDep) -> Any:
    """What the invitation (Bearer) opens; 401 when it is invalid, used or expired. For the page that accepts it."""
    return await invites.describe(session, token)


@router.post("/accept-invite", response_model=TokensOut)
async def accept_invite(body: AcceptInviteIn, token: InviteToken, request: Request, ctx: CtxDep,
                        session: SessionDep) -> Any:
    """Join the inviting org (Bearer: the invitation token): a new account with `password`, or an existing
    one proven by its password."""
    return await invites.accept(ctx, session, token, body, client_ip(request))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshIn, request: Request, session: SessionDep) -> Response:
    await accounts.logout(session, body.refresh_token, client_ip(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser, session: SessionDep) -> Any:
    return await accounts.me(session, user)
