"""`members …` and `invites …`: who is in the org, with which role."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from bonito.cli.options import JsonOpt, api, quiet
from bonito.cli.output import emit_json, line, note, table

members = typer.Typer(help="The org's members and their roles.", no_args_is_help=True)
invites = typer.Typer(help="Invitations to join the org.", no_args_is_help=True)


class Role(StrEnum):
    admin = "admin"
    member = "member"
    viewer = "viewer"


def register(app: typer.Typer) -> None:
    app.add_typer(members, name="members")
    app.add_typer(invites, name="invites")


@members.command("list")
def members_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Members of the org."""
    items = api(ctx).get("/api/org/members")
    if json_out:
        emit_json(items)
    else:
        table(items, [("EMAIL", "email"), ("ROLE", "role"), ("SINCE", "created_at"), ("ID", "user_id")])


@members.command("add")
def members_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument()],
    role: Annotated[Role, typer.Option("--role")] = Role.member,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="a first password, for someone without an account yet (else: invite them)")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Add someone to the org directly (an existing account, or a new one with --password-stdin)."""
    import sys

    body = {"email": email, "role": role.value}
    if password_stdin:
        body["password"] = sys.stdin.readline().rstrip("\r\n")
    added = api(ctx).post("/api/org/members", body)
    if json_out:
        emit_json(added)
    else:
        note(f"added {added['email']} as {added['role']}", quiet=quiet(ctx))


@members.command("role")
def members_role(ctx: typer.Context, email: Annotated[str, typer.Argument(help="email or user id")],
                 role: Annotated[Role, typer.Argument()], json_out: JsonOpt = False) -> None:
    """Change a member's role."""
    client = api(ctx)
    m = client.resolve("/api/org/members", "member", email, field="email")
    updated = client.patch(f"/api/org/members/{m['user_id']}", {"role": role.value})
    if json_out:
        emit_json(updated)
    else:
        note(f"{updated['email']} is now {updated['role']}", quiet=quiet(ctx))


@members.command("remove")
def members_remove(ctx: typer.Context, email: Annotated[str, typer.Argument(help="email or user id")]) -> None:
    """Remove a member from the org."""
    client = api(ctx)
    m = client.resolve("/api/org/members", "member", email, field="email")
    client.delete(f"/api/org/members/{m['user_id']}")
    note(f"removed {m['email']}", quiet=quiet(ctx))


@invites.command("create")
def invites_create(ctx: typer.Context, email: Annotated[str, typer.Argument()],
                   role: Annotated[Role, typer.Option("--role")] = Role.member, json_out: JsonOpt = False) -> None:
    """Invite someone; prints the link that accepts it (once)."""
    client = api(ctx)
    created = client.post("/api/org/invites", {"email": email, "role": role.value})
    if json_out:
        emit_json(created)
        return
    line(client.url + created["accept_path"])
    note(f"invited {created['email']} as {created['role']} (expires {created['expires_at']})", quiet=quiet(ctx))


@invites.command("list")
def invites_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Pending invitations."""
    items = api(ctx).get("/api/org/invites")
    if json_out:
        emit_json(items)
    else:
        table(items, [("EMAIL", "email"), ("ROLE", "role"), ("EXPIRES", "expires_at"), ("ID", "id")])


@invites.command("revoke")
def invites_revoke(ctx: typer.Context, email: Annotated[str, typer.Argument(help="email or invite id")]) -> None:
    """Withdraw an invitation."""
    client = api(ctx)
    inv = client.resolve("/api/org/invites", "invite", email, field="email")
    client.delete(f"/api/org/invites/{inv['id']}")
    note(f"revoked the invitation of {inv['email']}", quiet=quiet(ctx))
