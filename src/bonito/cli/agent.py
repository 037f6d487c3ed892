"""`agent`: run the VPC agent; `agent token` and `agent status` manage it from the control plane."""

from __future__ import annotations

from typing import Annotated

import typer

from bonito.cli.client import Api
from bonito.cli.ops import LogFormat, LogLevel
from bonito.cli.options import JsonOpt, api, quiet
from bonito.cli.output import emit_json, line, note, table

agent = typer.Typer(help="The VPC agent: run it, issue its org token, see its status.")


def register(app: typer.Typer) -> None:
    app.add_typer(agent, name="agent")


@agent.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    control_plane: Annotated[str | None, typer.Option("--control-plane", envvar="BONITO_CONTROL_PLANE",
                                                      metavar="URL", help="the control plane's URL")] = None,
    token: Annotated[str | None, typer.Option("--token", envvar="BONITO_ORG_TOKEN", metavar="bt-…",
                                              help="the org's agent token")] = None,
    token_file: Annotated[str | None, typer.Option("--token-file", metavar="FILE",
                                                   help="read the token here (re-read on change)")] = None,
    config: Annotated[str | None, typer.Option("--config", metavar="FILE",
                                               help="bonito.yaml with the providers' credentials")] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    state_dir: Annotated[str, typer.Option("--state-dir", metavar="DIR")] = "./.bonito/agent",
    sync_interval: Annotated[float, typer.Option("--sync-interval", metavar="S", min=0.1)] = 30.0,
    heartbeat_interval: Annotated[float, typer.Option("--heartbeat-interval", metavar="S", min=0.1)] = 60.0,
    log_format: Annotated[LogFormat, typer.Option("--log-format")] = LogFormat.text,
    log_level: Annotated[LogLevel, typer.Option("--log-level")] = LogLevel.info,
) -> None:
    """Without a subcommand: serve /v1 inside your network for one org, configured by the control plane."""
    if ctx.invoked_subcommand is not None:
        return
    from bonito.agent.run import run_agent  # type: ignore[import-not-found,unused-ignore]

    raise typer.Exit(run_agent(control_plane=control_plane, token=token, token_file=token_file, config=config,
                               host=host, port=port, state_dir=state_dir, sync_interval=sync_interval,
                               heartbeat_interval=heartbeat_interval, log_format=log_format.value,
                               log_level=log_level.value))


def _org_id(client: Api) -> str:
    return str(client.get("/api/auth/me")["org_id"])


@agent.command("token")
def agent_token(
    ctx: typer.Context,
    overlap: Annotated[float | None, typer.Option("--overlap", metavar="S", min=0,
                                                  help="seconds earlier tokens keep working (default 3600; "
                                                       "0 revokes them at once)")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Issue the org's bt- token (rotating: earlier ones keep working for --overlap seconds); printed once."""
    client = api(ctx)
    org_id = _org_id(client)
    issued = client.post(f"/api/orgs/{org_id}/agent/token", {} if overlap is None else {"overlap_s": overlap})
    if json_out:
        emit_json(issued)
        return
    line(issued["token"])
    note(f"issued an agent token for org {org_id} (id {issued['id']}): shown this once; run "
         "`bonito agent --control-plane URL --token-file FILE`", quiet=quiet(ctx))


@agent.command("status")
def agent_status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The org's agents: connected, delayed or offline, with their counters."""
    client = api(ctx)
    doc = client.get(f"/api/orgs/{_org_id(client)}/agent")
    if json_out:
        emit_json(doc)
        return
    agents = doc.get("agents", [])
    if not agents:
        note("no agent has reported yet", quiet=quiet(ctx))
    table(agents, [("HOSTNAME", "hostname"), ("STATUS", "status"), ("LAST HEARTBEAT", "last_heartbeat"),
                   ("VERSION", "version"), ("REQUESTS", "requests"), ("ERRORS", "errors"),
                   ("SPOOL", "spool_depth"), ("CONFIG", "config_version"), ("ID", "id")])
