"""`doctor`: one line per check, a hint for each failure; exit 0 only when every check passes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from bonito.cli.client import Api, describe
from bonito.cli.options import JsonOpt, api
from bonito.cli.output import CliError, emit_json, line

if TYPE_CHECKING:
    from bonito.cli.http import Response

MAX_SKEW_S = 60.0  # access tokens live minutes: a clock further off than this makes them look expired


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def register(app: typer.Typer) -> None:
    app.command(help="Check the server, the session, its stores, each provider and the clock.")(doctor)


def doctor(ctx: typer.Context, json_out: JsonOpt = False,
           skip_providers: Annotated[bool, typer.Option("--skip-providers",
                                                        help="do not validate each provider")] = False) -> None:
    client = api(ctx)
    checks: list[Check] = []
    report = (lambda c: checks.append(c)) if json_out else (lambda c: _print(checks, c))
    for check in run_checks(client, skip_providers):
        report(check)
    failed = [c for c in checks if not c.ok]
    if failed:  # with --json too: nothing on stdout on failure, each failure and its hint on stderr
        details = "".join(f"\n  {c.name}: {c.detail}" + (f" (hint: {c.hint})" if c.hint else "")
                          for c in failed) if json_out else ""
        raise CliError(f"{len(failed)} of {len(checks)} checks failed: {', '.join(c.name for c in failed)}"
                       + details)
    if json_out:
        emit_json({"ok": True, "server": client.url, "checks": [asdict(c) for c in checks]})


def _print(checks: list[Check], c: Check) -> None:
    checks.append(c)
    text = f"{'ok  ' if c.ok else 'FAIL'}  {c.name:<18} {c.detail}" + (f"\n      hint: {c.hint}" if c.hint else "")
    if not sys.stdout.isatty():
        line(text)
        return
    from rich.text import Text

    from bonito.cli.output import console

    console().print(Text(text, style="green" if c.ok else "bold red"))


def run_checks(client: Api, skip_providers: bool) -> Iterator[Check]:
    """The checks in order; each is written as soon as it is known (a generator)."""
    import time

    from bonito.cli.http import TransportError

    try:
        started = time.time()
        r = client.http.get("/health", timeout=10)
        ended = time.time()
    except TransportError as exc:
        yield Check("server", False, f"{client.url} unreachable ({exc})",
                    "start it with `bonito serve`, or point BONITO_URL / `bonito login --url` at it")
        return
    try:
        version = r.json().get("version", "unknown") if r.status_code == 200 else None
    except (ValueError, AttributeError):
        yield Check("server", False, f"{client.url}/health is not Bonito's", "check the URL")
        return
    yield Check("server", r.status_code == 200, f"{client.url} answers /health with {r.status_code}"
                + (f" (bonito {version})" if version else ""), "" if r.status_code == 200 else "see its log")
    yield _clock(r, (started + ended) / 2)
    ready = client.http.get("/health/ready", timeout=10)
    try:
        stores = ready.json()
    except ValueError:
        stores = {}
    states = {k: v for k, v in stores.items() if k in ("database", "redis")} if isinstance(stores, dict) else {}
    states = {k: (v.get("status", v) if isinstance(v, dict) else v) for k, v in states.items()}
    down = [k for k, v in states.items() if v != "ok"]
    yield Check("stores", ready.status_code == 200 and not down,
                f"/health/ready {ready.status_code}: " + (", ".join(f"{k} {v}" for k, v in states.items())
                                                          or "no store named"),
                f"{', '.join(down)} down: check BONITO_DATABASE_URL / REDIS_URL and that the service runs"
                if down else "")
    try:
        me = client.get("/api/auth/me")
        yield Check("session", True, f"{me['email']} in org {me.get('org_id')}")
    except CliError as exc:
        yield Check("session", False, exc.message, "run `bonito login` (or set a valid BONITO_TOKEN)")
        return
    if skip_providers:
        return
    for p in client.get("/api/providers"):
        v = client.send("POST", f"/api/providers/{p['id']}/validate", ok=tuple(range(400, 600)))
        result = v.json() if v.status_code == 200 else {"ok": False, "message": describe(v)}
        yield Check(f"provider {p['name']}", bool(result.get("ok")), str(result.get("message", "")),
                    "" if result.get("ok") else f"fix its credentials: `bonito providers remove {p['name']}` "
                                                "and add it again")


def _clock(r: Response, local: float) -> Check:
    from email.utils import parsedate_to_datetime

    header = r.headers.get("date")
    if not header:
        return Check("clock", True, "the server sent no Date header; skew not measured")
    skew = parsedate_to_datetime(header).timestamp() - local
    ok = abs(skew) <= MAX_SKEW_S + 1  # the header has whole seconds
    return Check("clock", ok, f"skew {skew:+.0f} s against the server",
                 "" if ok else "sync this machine's clock (NTP): tokens look expired or not yet valid")
