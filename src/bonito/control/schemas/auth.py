"""Accounts: register, login, tokens, the current user, org members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from bonito.control.schemas.common import EMAIL_RE, ApiModel, Name, OutModel


def _email(value: str) -> str:
    value = value.strip().lower()
    if not EMAIL_RE.match(value):
        raise ValueError("not a valid email address")
    return value


Email = Annotated[str, StringConstraints(min_length=3, max_length=254), AfterValidator(_email)]
# login accepts any string: an unknown or malformed email is answered like a wrong password
LoginEmail = Annotated[str, StringConstraints(min_length=1, max_length=254)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Role = Literal["admin", "member", "viewer"]
Token = Annotated[str, Field(min_length=1, max_length=512)]


class RegisterIn(ApiModel):
    email: Email
    password: Password
    org_name: Name


class LoginIn(ApiModel):
    email: LoginEmail
    password: AnyPassword
    org_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class RefreshIn(ApiModel):
    refresh_token: Token


class TokensOut(OutModel):
    """Exactly what login and refresh answer (CONTRACT.md): `{access_token, refresh_token, token_type}`."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"


class RegisteredOut(TokensOut):
    user: UserOut
    org: OrgOut


class OrgOut(OutModel):
    id: str
    name: str
    role: Role | None = None


class UserOut(OutModel):
    id: str
    email: str
    org_id: str
    role: Role
    is_platform_admin: bool
    orgs: list[OrgOut] = Field(default_factory=list)


class MemberIn(ApiModel):
    email: Email
    role: Role = "member"
    password: Password | None = None  # needed when the user does not exist yet


class MemberPatch(ApiModel):
    role: Role


class MemberOut(OutModel):
    id: str  # the user's id, as in /api/org/members/{user_id}
    user_id: str
    email: str
    role: Role
    created_at: datetime


RegisteredOut.model_rebuild()


class InviteIn(ApiModel):
    email: Email
    role: Role = "member"


class InviteOut(OutModel):
    id: str
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


class InviteCreatedOut(InviteOut):
    token: str = Field(description="shown once: the invitee accepts with it")
    accept_path: str = Field(description="the dashboard page that accepts it, token included")


class AcceptInviteIn(ApiModel):
    """The invitation token itself goes as the Bearer credential."""

    # a new account's password, or (when the email already has an account) that account's password
    password: AnyPassword


class InviteInfoOut(OutModel):
    email: str
    role: Role
    org_name: str | None
    expires_at: datetime
    account_exists: bool
