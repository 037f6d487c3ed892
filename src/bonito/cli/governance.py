"""`budgets …` and `alerts …`: spend caps and the rules that warn before them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from bonito.cli.options import JsonOpt, api, quiet
from bonito.cli.output import emit_json, note, table

budgets = typer.Typer(help="Spend budgets for the org or one key.", no_args_is_help=True)
alerts = typer.Typer(help="Alert rules: budget use, error rate, latency.", no_args_is_help=True)


class Period(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class AlertKind(StrEnum):
    budget = "budget"
    error_rate = "error_rate"
    latency = "latency"


def register(app: typer.Typer) -> None:
    app.add_typer(budgets, name="budgets")
    app.add_typer(alerts, name="alerts")


@budgets.command("list")
def budgets_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Budgets with what is spent in the current period."""
    client = api(ctx)
    items = client.get("/api/budgets")
    if json_out:
        emit_json(items)
        return
    names = {k["id"]: k["name"] for k in client.get("/api/gateway/keys")} if any(
        b.get("key_id") for b in items) else {}
    rows = [{**b, "scope": f"key {names.get(b['key_id'], b['key_id'])}" if b.get("key_id") else b["scope"],
             "used": f"{b['percent_used']:.1f}%"} for b in items]
    table(rows, [("SCOPE", "scope"), ("USD", "usd"), ("PERIOD", "period"), ("SPENT", "spent_usd"),
                 ("USED", "used"), ("HARD", "hard"), ("RESETS", "resets_at"), ("ID", "id")])


@budgets.command("set")
def budgets_set(
    ctx: typer.Context,
    usd: Annotated[float, typer.Option("--usd", help="the cap, in USD per period", min=0.000001)],
    period: Annotated[Period, typer.Option("--period")] = Period.monthly,
    key: Annotated[str | None, typer.Option("--key", help="a key's name or id (default: the whole org)")] = None,
    soft: Annotated[bool, typer.Option("--soft", help="alert only, do not refuse calls")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Set the org's (or a key's) budget for a period: changes the existing one, else creates it."""
    client = api(ctx)
    key_id = client.resolve("/api/gateway/keys", "key", key)["id"] if key else None
    existing = [b for b in client.get("/api/budgets")
                if b.get("key_id") == key_id and b["period"] == period.value
                and b["scope"] == ("key" if key_id else "org")]
    body: dict[str, Any] = {"usd": str(usd), "hard": not soft}
    if existing:
        result = client.patch(f"/api/budgets/{existing[0]['id']}", body)
    else:
        result = client.post("/api/budgets", {**body, "period": period.value, "scope": "key" if key_id else "org",
                                              **({"key_id": key_id} if key_id else {})})
    if json_out:
        emit_json(result)
    else:
        note(f"budget {result['usd']} USD {result['period']} for {key or 'the org'} "
             f"({result['percent_used']:.1f}% used)", quiet=quiet(ctx))


@alerts.command("list")
def alerts_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The org's alert rules."""
    items = api(ctx).get("/api/alert-rules")
    if json_out:
        emit_json(items)
    else:
        table(items, [("NAME", "name"), ("KIND", "kind"), ("THRESHOLD", "threshold"),
                      ("WINDOW MIN", "window_minutes"), ("CHANNELS", "channels"), ("ENABLED", "enabled"),
                      ("ID", "id")])


@alerts.command("set")
def alerts_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    kind: Annotated[AlertKind, typer.Option("--kind")],
    threshold: Annotated[float, typer.Option(
        "--threshold", help="budget: % of a budget; error_rate: % of calls; latency: ms (p95)")],
    window: Annotated[int | None, typer.Option("--window", help="minutes (new rules; default 5)")] = None,
    channels: Annotated[str | None, typer.Option("--channels", metavar="A,B",
                                                 help="e.g. in_app,email,webhook")] = None,
    disable: Annotated[bool, typer.Option("--disable", help="keep the rule but stop it firing")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create an alert rule, or change the one with this name."""
    client = api(ctx)
    chans = [c.strip() for c in channels.split(",") if c.strip()] if channels else None
    existing = [r for r in client.get("/api/alert-rules") if r["name"] == name]
    body: dict[str, Any] = {"threshold": threshold, "enabled": not disable}
    if chans:
        body["channels"] = chans
    if existing:
        result = client.patch(f"/api/alert-rules/{existing[0]['id']}", body)
    else:
        result = client.post("/api/alert-rules", {**body, "name": name, "kind": kind.value,
                                                  **({"window_minutes": window} if window else {})})
    if json_out:
        emit_json(result)
    else:
        note(f"alert rule {result['name']}: {result['kind']} ≥ {result['threshold']:g}"
             f"{'' if result['enabled'] else ' (disabled)'}", quiet=quiet(ctx))
