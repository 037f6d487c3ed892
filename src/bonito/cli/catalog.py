"""`providers …` and `models …`: connect accounts and publish models."""

from __future__ import annotations

from typing import Annotated

import typer

from bonito.cli.options import JsonOpt, api, quiet
from bonito.cli.output import CliError, emit_json, line, note, table, usage_error

providers = typer.Typer(help="Connect provider accounts (fields as in bonito.yaml).", no_args_is_help=True)
models = typer.Typer(help="Publish models under public names.", no_args_is_help=True)

PROVIDER_COLUMNS = [("NAME", "name"), ("TYPE", "type"), ("ID", "id"), ("CREATED", "created_at")]
MODEL_COLUMNS = [("NAME", "name"), ("PROVIDER", "provider"), ("UPSTREAM", "model"), ("ENABLED", "enabled"),
                 ("IN $/MTOK", "input_cost_per_mtok"), ("OUT $/MTOK", "output_cost_per_mtok"), ("ID", "id")]


def register(app: typer.Typer) -> None:
    app.add_typer(providers, name="providers")
    app.add_typer(models, name="models")


@providers.command("add")
def providers_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the provider's name, as in bonito.yaml's providers:")],
    type_: Annotated[str, typer.Option("--type", help="openai, azure, bedrock, vertex or anthropic")],
    fields: Annotated[list[str] | None, typer.Option("--set", metavar="FIELD=VALUE",
                                                     help="a field as in bonito.yaml (repeatable)")] = None,
    credentials_file: Annotated[str | None, typer.Option(
        "--credentials-file", metavar="FILE", help="YAML/JSON fields, ${VAR} expanded; keeps secrets out of "
                                                   "the shell history")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Connect a provider account; credentials are stored encrypted and never shown again."""
    from bonito.cli.files import parse_assignments, read_mapping
    from bonito.providers.registry import PROVIDER_TYPES

    if type_ not in PROVIDER_TYPES:
        raise usage_error(f"--type: {type_!r} is not one of {', '.join(PROVIDER_TYPES)}")
    credentials = read_mapping(credentials_file) if credentials_file else {}
    credentials.update(parse_assignments(fields or [], "--set"))
    created = api(ctx).post("/api/providers", {"name": name, "type": type_, "credentials": credentials})
    if json_out:
        emit_json(created)
    else:
        note(f"added provider {created['name']} ({created['type']}, id {created['id']})", quiet=quiet(ctx))


@providers.command("list")
def providers_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The org's providers (never their credentials)."""
    items = api(ctx).get("/api/providers")
    emit_json(items) if json_out else table(items, PROVIDER_COLUMNS)


@providers.command("validate")
def providers_validate(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")],
                       json_out: JsonOpt = False) -> None:
    """Check the credentials against the provider; exit 1 when they do not work."""
    client = api(ctx)
    provider = client.resolve("/api/providers", "provider", name)
    result = client.post(f"/api/providers/{provider['id']}/validate")
    if not result["ok"]:  # a failed check: exit 1, the reason on stderr, nothing on stdout
        raise CliError(f"provider {provider['name']}: validation failed: {result.get('message', '')}")
    if json_out:
        emit_json(result)
    else:
        line(f"{provider['name']}: ok — {result.get('message', '')}")


@providers.command("catalog")
def providers_catalog(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")],
                      json_out: JsonOpt = False) -> None:
    """The models the provider account offers."""
    client = api(ctx)
    provider = client.resolve("/api/providers", "provider", name)
    items = client.get(f"/api/providers/{provider['id']}/catalog")
    emit_json(items) if json_out else table(items, [("ID", "id"), ("NAME", "name"), ("KIND", "kind")])


@providers.command("remove")
def providers_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")]) -> None:
    """Disconnect a provider (its stored credentials are deleted)."""
    client = api(ctx)
    provider = client.resolve("/api/providers", "provider", name)
    client.delete(f"/api/providers/{provider['id']}")
    note(f"removed provider {provider['name']}", quiet=quiet(ctx))


@models.command("add")
def models_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the public name clients send as `model`")],
    provider: Annotated[str, typer.Option("--provider", help="provider name or id")],
    model: Annotated[str, typer.Option("--model", help="the upstream model id (Azure: the deployment)")],
    input_cost: Annotated[float | None, typer.Option("--input-cost", metavar="USD_PER_MTOK")] = None,
    output_cost: Annotated[float | None, typer.Option("--output-cost", metavar="USD_PER_MTOK")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Publish a provider's model under a public name."""
    client = api(ctx)
    p = client.resolve("/api/providers", "provider", provider)
    body = {"name": name, "provider_id": p["id"], "model": model}
    if input_cost is not None:
        body["input_cost_per_mtok"] = input_cost
    if output_cost is not None:
        body["output_cost_per_mtok"] = output_cost
    created = client.post("/api/models", body)
    if json_out:
        emit_json(created)
    else:
        note(f"added model {created['name']} → {p['name']}/{created['model']} (id {created['id']})",
             quiet=quiet(ctx))


@models.command("list")
def models_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The org's models."""
    client = api(ctx)
    items = client.get("/api/models")
    if json_out:
        emit_json(items)
        return
    names = {p["id"]: p["name"] for p in client.get("/api/providers")}
    table([{**m, "provider": names.get(m["provider_id"], m["provider_id"])} for m in items], MODEL_COLUMNS)


def _set_enabled(ctx: typer.Context, name: str, enabled: bool, json_out: bool) -> None:
    client = api(ctx)
    m = client.resolve("/api/models", "model", name)
    updated = client.patch(f"/api/models/{m['id']}", {"enabled": enabled})
    if json_out:
        emit_json(updated)
    else:
        note(f"{'enabled' if enabled else 'disabled'} model {m['name']}", quiet=quiet(ctx))


@models.command("enable")
def models_enable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")],
                  json_out: JsonOpt = False) -> None:
    """Serve the model again."""
    _set_enabled(ctx, name, True, json_out)


@models.command("disable")
def models_disable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")],
                   json_out: JsonOpt = False) -> None:
    """Stop serving the model (kept, to enable later)."""
    _set_enabled(ctx, name, False, json_out)


@models.command("remove")
def models_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")]) -> None:
    """Delete the model."""
    client = api(ctx)
    m = client.resolve("/api/models", "model", name)
    client.delete(f"/api/models/{m['id']}")
    note(f"removed model {m['name']}", quiet=quiet(ctx))

