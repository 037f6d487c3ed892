"""/api/org: the caller's org and its members (admins change roles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from bonito.control.deps import Admin, SessionDep, Viewer
from bonito.control.schemas.auth import (
    InviteCreatedOut,
    InviteIn,
    InviteOut,
    MemberIn,
    MemberOut,
    MemberPatch,
)
from bonito.control.services import invites, members

router = APIRouter(prefix="/api/org", tags=["org"])


@router.get("")
async def get_org(user: Viewer, session: SessionDep) -> dict[str, Any]:
    return await members.org(session, user)


@router.get("/members", response_model=list[MemberOut])
async def list_members(user: Viewer, session: SessionDep) -> Any:
    return await members.list_members(session, user)


@router.post("/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut)
async def add_member(body: MemberIn, user: Admin, session: SessionDep) -> Any:
    """Add a user by email (created with `password` when new) with a role."""
    return await members.add_member(session, user, body)


@router.patch("/members/{user_id}", response_model=MemberOut)
async def set_role(user_id: str, body: MemberPatch, user: Admin, session: SessionDep) -> Any:
    return await members.set_role(session, user, user_id, body.role)


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(user_id: str, user: Admin, session: SessionDep) -> Response:
    await members.remove_member(session, user, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invites", status_code=status.HTTP_201_CREATED, response_model=InviteCreatedOut)
async def invite(body: InviteIn, user: Admin, session: SessionDep) -> Any:
    """Invite an email with a role; the token (shown once) is accepted at POST /api/auth/accept-invite."""
    return await invites.create(session, user, body)


@router.get("/invites", response_model=list[InviteOut])
async def list_invites(user: Admin, session: SessionDep) -> Any:
    """Pending invitations (not accepted, revoked or expired)."""
    return await invites.pending(session, user)


@router.delete("/invites/{invite_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invite(invite_id: str, user: Admin, session: SessionDep) -> Response:
    await invites.revoke(session, user, invite_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
