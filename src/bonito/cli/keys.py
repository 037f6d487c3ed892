"""`keys …`: gateway keys (`bn-`), shown once when created or rotated."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from bonito.cli.options import JsonOpt, api, quiet
from bonito.cli.output import emit_json, line, note, table

keys = typer.Typer(help="Gateway keys for /v1 (a bn- key is printed once).", no_args_is_help=True)

COLUMNS = [("NAME", "name"), ("KEY", "display"), ("RPM", "requests_per_minute"), ("TPM", "tokens_per_minute"),
           ("MODELS", "allowed_models"), ("CACHE", "cache"), ("REVOKED", "revoked_at"), ("ID", "id")]


class Switch(StrEnum):
    on = "on"
    off = "off"


def register(app: typer.Typer) -> None:
    app.add_typer(keys, name="keys")


def _print_secret(ctx: typer.Context, created: dict[str, Any], json_out: bool, verb: str) -> None:
    """The key goes to stdout exactly once (a script captures it); the note about it to stderr."""
    if json_out:
        emit_json(created)
        return
    line(created["key"])
    note(f"{verb} key {created['name']} (id {created['id']}): it is shown this once, store it now",
         quiet=quiet(ctx))


@keys.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    rpm: Annotated[int | None, typer.Option("--rpm", help="requests per minute", min=1)] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", help="tokens per minute", min=1)] = None,
    models: Annotated[str | None, typer.Option("--models", metavar="A,B",
                                               help="the public models it may call (default: all)")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="never answer this key from the response cache, "
                                                              "nor store its answers")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create a key and print it (once)."""
    body: dict[str, Any] = {"name": name}
    if no_cache:
        body["cache"] = False
    if rpm is not None:
        body["requests_per_minute"] = rpm
    if tpm is not None:
        body["tokens_per_minute"] = tpm
    if models is not None:
        body["allowed_models"] = [m.strip() for m in models.split(",") if m.strip()]
    _print_secret(ctx, api(ctx).post("/api/gateway/keys", body), json_out, "created")


@keys.command("list")
def keys_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The org's keys (their prefix and last four characters, never the key)."""
    items = api(ctx).get("/api/gateway/keys")
    if json_out:
        emit_json(items)
    else:
        table(items, COLUMNS)


@keys.command("cache")
def keys_cache(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")],
               switch: Annotated[Switch, typer.Argument(help="on: the response cache serves the key; off: never")],
               json_out: JsonOpt = False) -> None:
    """Turn the response cache on or off for one key (live within seconds)."""
    client = api(ctx)
    key = client.resolve("/api/gateway/keys", "key", name)
    changed = client.patch(f"/api/gateway/keys/{key['id']}", {"cache": switch is Switch.on})
    if json_out:
        emit_json(changed)
    else:
        note(f"response cache {switch.value} for key {changed['name']}", quiet=quiet(ctx))


@keys.command("revoke")
def keys_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")]) -> None:
    """Revoke a key: /v1 refuses it with 401 from now on."""
    client = api(ctx)
    key = client.resolve("/api/gateway/keys", "key", name)
    client.delete(f"/api/gateway/keys/{key['id']}")
    note(f"revoked key {key['name']} ({key.get('display', key['id'])})", quiet=quiet(ctx))


@keys.command("rotate")
def keys_rotate(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")],
                json_out: JsonOpt = False) -> None:
    """Replace a key with a new one (same name, limits and models) and print it (once)."""
    client = api(ctx)
    key = client.resolve("/api/gateway/keys", "key", name)
    _print_secret(ctx, client.post(f"/api/gateway/keys/{key['id']}/rotate"), json_out, "rotated")
