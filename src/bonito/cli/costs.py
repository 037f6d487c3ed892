"""`costs …`: where the month will end, what to change to spend less, what the clouds billed."""

from __future__ import annotations

from typing import Annotated

import typer

from bonito.cli.options import JsonOpt, api
from bonito.cli.output import emit_json, line, table

costs = typer.Typer(help="Spend: the month-end forecast, recommendations, cloud bills.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(costs, name="costs")


@costs.command("forecast")
def forecast(
    ctx: typer.Context,
    by: Annotated[str | None, typer.Option("--by", help="model, or tag:<key> (e.g. tag:team)")] = None,
    json_out: JsonOpt = False,
) -> None:
    """This month's spend so far and where it will end (projected, low–high)."""
    doc = api(ctx).get("/api/costs/forecast", **({"group_by": by} if by else {}))
    if json_out:
        emit_json(doc)
        return
    line(f"month to date  {doc['month_to_date_usd']} USD")
    line(f"projected      {doc['projected_usd']} USD  (low {doc['low_usd']}, high {doc['high_usd']})")
    groups = [{**g, "value": g.get("value") or g.get("model")} for g in doc.get("by_tag") or doc.get("by_model") or []]
    if groups:
        table(groups, [("VALUE", "value"), ("MTD USD", "month_to_date_usd"), ("PROJECTED", "projected_usd"),
                       ("LOW", "low_usd"), ("HIGH", "high_usd")])


@costs.command("recommendations")
def recommendations(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """What to change to spend less, with the evidence and the estimated monthly saving."""
    items = api(ctx).get("/api/costs/recommendations")
    if json_out:
        emit_json(items)
        return
    table(items, [("SAVING/MONTH", "monthly_saving_usd"), ("KIND", "kind"), ("TITLE", "title"),
                  ("EVIDENCE", "evidence")])


@costs.command("bills")
def bills(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Imported cloud bills beside metered spend, per day (the last 30 days)."""
    doc = api(ctx).get("/api/costs/bills")
    if json_out:
        emit_json(doc)
        return
    table(doc.get("by_day") or [], [("DAY", "day"), ("BILLED", "billed_usd"), ("METERED", "metered_usd"),
                                    ("NOT THROUGH BONITO", "difference_usd")])
