"""`policies …`: routes through the API (a route as in bonito.yaml, plus `name`) and their dry run."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bonito.cli.options import JsonOpt, api, quiet
from bonito.cli.output import emit_json, line, note, table

policies = typer.Typer(help="Routing policies: routes through the API, and their dry run.", no_args_is_help=True)

COLUMNS = [("NAME", "name"), ("STRATEGY", "strategy"), ("TARGETS", "targets"), ("KEY", "key_prefix"),
           ("ID", "id")]
PATH = "/api/routing-policies"


def register(app: typer.Typer) -> None:
    app.add_typer(policies, name="policies")


def _route_file(path: str, name: str | None) -> dict[str, Any]:
    """A route document; a bonito.yaml-style `{NAME: {route}}` with one entry is accepted too."""
    from bonito.cli.files import read_mapping

    doc = read_mapping(path)
    if "name" not in doc and len(doc) == 1 and isinstance(next(iter(doc.values())), dict):
        (route_name, route), = doc.items()
        doc = {"name": route_name, **route}
    if name:
        doc["name"] = name
    return doc


def _targets(policy: dict[str, Any]) -> str:
    return ", ".join(t.get("model", "?") + (f" ({t['weight']:g})" if t.get("weight") is not None else "")
                     for t in policy.get("targets", []))


@policies.command("create")
def policies_create(
    ctx: typer.Context,
    file: Annotated[str, typer.Option("--file", "-f", metavar="FILE", help="YAML or JSON ('-' for stdin)")],
    name: Annotated[str | None, typer.Option("--name", help="overrides the file's name")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a routing policy from a route document."""
    created = api(ctx).post(PATH, _route_file(file, name))
    if json_out:
        emit_json(created)
        return
    if created.get("key"):
        line(created["key"])  # a generated rt- key, shown this once
    note(f"created policy {created['name']} ({created['strategy']}: {_targets(created)}; id {created['id']})",
         quiet=quiet(ctx))


@policies.command("edit")
def policies_edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="name or id")],
    file: Annotated[str, typer.Option("--file", "-f", metavar="FILE",
                                      help="the fields to change (YAML or JSON); the rest are kept")],
    json_out: JsonOpt = False,
) -> None:
    """Change some fields of a policy (PATCH): live within 2 seconds."""
    from bonito.cli.files import read_mapping

    client = api(ctx)
    policy = client.resolve(PATH, "policy", name)
    updated = client.patch(f"{PATH}/{policy['id']}", read_mapping(file))
    if json_out:
        emit_json(updated)
    else:
        note(f"updated policy {updated['name']} ({updated['strategy']}: {_targets(updated)})", quiet=quiet(ctx))


@policies.command("list")
def policies_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The org's routing policies."""
    items = api(ctx).get(PATH)
    if json_out:
        emit_json(items)
    else:
        table([{**p, "targets": _targets(p)} for p in items], COLUMNS)


@policies.command("test")
def policies_test(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="name or id")],
    prompt: Annotated[str | None, typer.Option("--prompt", help="a user message to plan for")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Dry run: the plan the gateway would follow now, and why; nothing is sent upstream."""
    client = api(ctx)
    policy = client.resolve(PATH, "policy", name)
    body = {"request": {"messages": [{"role": "user", "content": prompt}]}} if prompt is not None else None
    plan = client.post(f"{PATH}/{policy['id']}/test", body)
    if json_out:
        emit_json(plan)
        return
    line(f"first target: {plan.get('first_target')}  (strategy {plan.get('strategy')}, rule {plan.get('rule')})")
    if plan.get("reason"):
        line(f"why: {plan['reason']}")
    table(plan.get("targets", []), [("MODEL", "model"), ("PROVIDER", "provider"), ("UPSTREAM", "upstream_model"),
                                    ("BREAKER", "breaker")])


@policies.command("remove")
def policies_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="name or id")]) -> None:
    """Delete a routing policy."""
    client = api(ctx)
    policy = client.resolve(PATH, "policy", name)
    client.delete(f"{PATH}/{policy['id']}")
    note(f"removed policy {policy['name']}", quiet=quiet(ctx))


