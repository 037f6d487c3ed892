"""`usage` (totals, a breakdown and a bar chart per day or hour) and `logs` (listing, --follow, --csv)."""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer

from bonito.cli.client import Api
from bonito.cli.options import JsonOpt, api, quiet
from bonito.cli.output import emit_json, line, note, table, usage_error

_SPAN = re.compile(r"^(\d+)([mhdw])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
FOLLOW_EVERY_S = 2.0
FOLLOW_MEMORY = 50_000  # record ids a follow remembers having printed


class By(StrEnum):
    model = "model"
    key = "key"
    provider = "provider"


def register(app: typer.Typer) -> None:
    app.command(help="Requests, tokens and cost: totals, a breakdown and a chart per day (or hour).")(usage)
    app.command(help="One record per request, newest first; --follow tails, --csv exports every record.")(logs)


def since_start(since: str, option: str = "--since") -> datetime:
    m = _SPAN.match(since.strip())
    if not m:
        raise usage_error(f"{option}: {since!r} is not a span such as 24h, 7d or 30d")
    return datetime.now(UTC) - timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2)])


def usage(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="the window: 24h, 7d, 30d (any N m|h|d|w)")] = "24h",
    by: Annotated[By, typer.Option("--by", help="the breakdown")] = By.model,
    json_out: JsonOpt = False,
) -> None:
    start = since_start(since)
    hourly = datetime.now(UTC) - start <= timedelta(hours=48)
    doc = api(ctx).get("/api/gateway/usage", start=start.isoformat(), group_by="hour" if hourly else "day")
    if json_out:
        emit_json(doc)
        return
    latency = doc.get("latency_ms") or {}
    p50 = latency.get("p50")
    line(f"last {since}: {doc['requests']} requests · {doc['total_tokens']} tokens "
         f"({doc['prompt_tokens']} in, {doc['completion_tokens']} out) · ${doc['cost_usd_exact']} · "
         f"{doc['error_rate'] * 100:.1f}% errors" + (f" · p50 {p50:.0f} ms" if p50 is not None else ""))
    rows, label = {
        By.model: (doc["by_model"], "model"),
        By.key: ([{**r, "key": r.get("key_name") or r.get("key_id")} for r in doc["by_key"]], "key"),
        By.provider: ([{**r, "provider": r.get("provider_name") or r.get("provider_id")}
                       for r in doc["by_provider"]], "provider"),
    }[by]
    line()
    table(rows, [(label.upper(), label), ("REQUESTS", "requests"), ("TOKENS IN", "prompt_tokens"),
                 ("TOKENS OUT", "completion_tokens"), ("COST USD", "cost_usd_exact"), ("ERRORS", "errors")])
    line()
    for row in bar_chart(doc["series"], hourly):
        line(row)


def bar_chart(series: list[dict[str, Any]], hourly: bool, width: int = 40) -> list[str]:
    """One line per bucket: its label, a bar as long as its share of the busiest, requests and cost."""
    if not series:
        return ["(no requests in this window)"]
    top = max(int(s["requests"]) for s in series) or 1
    out = []
    for s in series:
        label = str(s["bucket"])[: 16 if hourly else 10].replace("T", " ")
        n = int(s["requests"])
        bar = "█" * max(1 if n else 0, round(width * n / top))
        out.append(f"{label:<16} {bar:<{width}} {n:>7}  ${s['cost_usd_exact']}")
    return out


def _log_line(r: dict[str, Any]) -> str:
    when = str(r.get("created_at") or "")[:19].replace("T", " ")
    tokens = f"{r.get('prompt_tokens') or 0}+{r.get('completion_tokens') or 0} tok"
    latency = f"{r['latency_ms']:.0f}ms" if isinstance(r.get("latency_ms"), int | float) else "-"
    return "  ".join([when, str(r.get("status")), str(r.get("model")), str(r.get("key_name") or "-"),
                      tokens, f"${r.get('cost_usd')}", latency, str(r.get("request_id"))])


def logs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="how many records (newest first)")] = 20,
    model: Annotated[str | None, typer.Option("--model", help="only this public model")] = None,
    status: Annotated[str | None, typer.Option("--status", help="only this HTTP status, e.g. 429")] = None,
    since: Annotated[str | None, typer.Option("--since", help="the window (default: 30d)")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing new records as they come")] = False,
    csv: Annotated[str | None, typer.Option("--csv", metavar="FILE",
                                            help="export every record of the window as CSV ('-': stdout)")] = None,
    json_out: JsonOpt = False,
) -> None:
    client = api(ctx)
    filters = {"model": model, "status": status, "start": since_start(since).isoformat() if since else None}
    if csv is not None:
        _export_csv(client, csv, filters, quiet(ctx))
        return
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(items) < limit:
        page = client.get("/api/gateway/logs", **filters, limit=min(1000, limit - len(items)), cursor=cursor)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if json_out and not follow:
        emit_json({"items": items, "next_cursor": cursor})
        return
    printed: set[str] = set()
    _print_new(items, printed, json_out)
    if not items:
        note("no records yet" if follow else "no records in this window", quiet=quiet(ctx))
    while follow:
        time.sleep(FOLLOW_EVERY_S)
        _print_new(_since_last(client, filters, printed), printed, json_out)
        if len(printed) > FOLLOW_MEMORY:  # a long tail: remember only what a page can show again
            printed.clear()
            printed.update(r["id"] for r in client.get("/api/gateway/logs", **filters, limit=1000)["items"])


def _since_last(client: Api, filters: dict[str, Any], printed: set[str]) -> list[dict[str, Any]]:
    """Every record newer than those printed (newest first): pages until one already printed shows up."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get("/api/gateway/logs", **filters, limit=1000 if items else 200, cursor=cursor)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor or any(r["id"] in printed for r in page["items"]):
            return items


def _print_new(newest_first: list[dict[str, Any]], printed: set[str], json_lines: bool) -> None:
    """Oldest first, each record once (a follow prints what it has not printed yet)."""
    import json

    for r in reversed(newest_first):
        if r["id"] in printed:
            continue
        printed.add(r["id"])
        line(json.dumps(r, default=str) if json_lines else _log_line(r))


def _export_csv(client: Api, path: str, filters: dict[str, Any], be_quiet: bool) -> None:
    """Stream the export to the file as it comes (no row cap), with a progress line on a terminal."""
    show = not be_quiet and sys.stderr.isatty()
    rows = 0
    out = sys.stdout.buffer if path == "-" else open(path, "wb")
    try:
        with client.stream("GET", "/api/gateway/logs", params={**filters, "format": "csv"}) as r:
            if show:
                from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

                from bonito.cli.output import console

                with Progress(TextColumn("exporting"), BarColumn(), TextColumn("{task.completed} rows"),
                              TimeElapsedColumn(), console=console(stderr=True), transient=True) as bar:
                    task = bar.add_task("csv", total=None)
                    for chunk in r.iter_bytes():
                        out.write(chunk)
                        rows += chunk.count(b"\n")
                        bar.update(task, completed=max(0, rows - 1))
            else:
                for chunk in r.iter_bytes():
                    out.write(chunk)
                    rows += chunk.count(b"\n")
    finally:
        if path == "-":
            out.flush()
        else:
            out.close()
    if path != "-":
        note(f"wrote {max(0, rows - 1)} records to {path}", quiet=be_quiet)
