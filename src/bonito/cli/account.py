"""`login`, `logout`, `whoami`: the session kept under $XDG_CONFIG_HOME/bonito/."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from bonito.cli import session as sessions
from bonito.cli.options import JsonOpt, api, quiet, state
from bonito.cli.output import CliError, emit_json, line, note, usage_error


def register(app: typer.Typer) -> None:
    app.command(help="Sign in to a Bonito server and keep the session (never the password).")(login)
    app.command(help="End the session: the server revokes its refresh token.")(logout)
    app.command(help="Who the CLI acts as, on which server and org.")(whoami)


def login(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--url", help="the server (default: $BONITO_URL, else the saved "
                                                          "one, else http://127.0.0.1:8000)")] = None,
    email: Annotated[str | None, typer.Option("--email", help="asked for when missing")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="read the password from stdin's first line")] = False,
    org: Annotated[str | None, typer.Option("--org", help="org id, for an account in several orgs")] = None,
    json_out: JsonOpt = False,
) -> None:
    from bonito.cli.client import describe
    from bonito.cli.http import Client, TransportError

    profile = state(ctx).profile
    saved = sessions.load(profile)
    server = (url or os.environ.get("BONITO_URL") or (saved.url if saved else "") or sessions.DEFAULT_URL)
    server = server.strip().rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise usage_error(f"--url: {server!r} is not an http(s) URL")
    if not email and password_stdin:  # stdin holds the password: the email cannot be asked for there
        email = saved.email if saved and saved.email else None
        if not email:
            raise usage_error("--email is needed with --password-stdin")
    if not email:
        email = typer.prompt("Email", default=saved.email if saved and saved.email else None, err=True)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise usage_error("--password-stdin: stdin held no password")
    else:
        password = typer.prompt("Password", hide_input=True, err=True)
    body = {"email": email, "password": password, **({"org_id": org} if org else {})}
    try:
        http = Client(server, timeout=30, headers={})
        r = http.post("/api/auth/login", json=body)
        if r.status_code != 200:
            raise CliError(f"login to {server} refused ({describe(r)})")
        tokens = r.json()
        me = http.get("/api/auth/me", headers={"authorization": f"Bearer {tokens['access_token']}"}).json()
    except TransportError as exc:
        raise CliError(f"cannot reach the server at {server}: {exc}") from None
    except (ValueError, KeyError):
        raise CliError(f"{server} did not answer as a Bonito server does") from None
    path = sessions.save(profile, sessions.Session(url=server, email=me["email"], org_id=me.get("org_id", ""),
                                                   access_token=tokens["access_token"],
                                                   refresh_token=tokens["refresh_token"]))
    if json_out:
        emit_json(me)
    else:
        note(f"logged in to {server} as {me['email']} (org {me.get('org_id')}); session in {path}",
             quiet=quiet(ctx))


def logout(ctx: typer.Context) -> None:
    profile = state(ctx).profile
    saved = sessions.load(profile)
    if saved is None:
        note("not logged in", quiet=quiet(ctx))
        return
    client = api(ctx)
    if saved.refresh_token:
        try:
            client.send("POST", "/api/auth/logout", auth=False, json={"refresh_token": saved.refresh_token},
                        ok=(401,))
        except CliError as exc:  # the server is gone: still forget the session here
            note(f"the server could not revoke the session ({exc.message}); forgetting it here",
                 quiet=quiet(ctx))
    sessions.forget(profile)
    note(f"logged out of {saved.url}", quiet=quiet(ctx))


def whoami(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    client = api(ctx)
    me = client.get("/api/auth/me")
    if json_out:
        emit_json(me)
        return
    admin = " (platform admin)" if me.get("is_platform_admin") else ""
    line(f"{me['email']} — {me.get('role')} of org {me.get('org_id')}{admin} on {client.url}")
