"""`bonito agent`: the gateway inside a customer's network for one org (see docs/agent.md)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from bonito.config.loader import ConfigError, parse_config
from bonito.config.schema import BonitoConfig

GRACEFUL_SHUTDOWN_S = 20  # as `bonito serve`: in-flight requests and streams finish, then usage is spooled


def run_agent(*, control_plane: str | None, token: str | None, token_file: str | None, config: str | None,
              host: str, port: int, state_dir: str, sync_interval: float, heartbeat_interval: float,
              log_format: str, log_level: str) -> int:
    """Run the agent until SIGTERM/SIGINT; the exit code (2: bad usage or an invalid config)."""
    from bonito.observability.logs import configure_logging

    log_config = configure_logging(log_format, log_level)  # first: with json, every line is JSON
    control_plane = control_plane or os.environ.get("BONITO_CONTROL_PLANE") or None
    token = token or os.environ.get("BONITO_ORG_TOKEN") or None
    problem = _usage_problem(control_plane, token, token_file, sync_interval, heartbeat_interval)
    if problem:
        print(f"bonito agent: {problem}", file=sys.stderr)
        return 2
    assert control_plane is not None
    try:
        local = load_local_config(config)
    except ConfigError as exc:
        print(f"bonito agent: invalid config\n{exc}", file=sys.stderr)
        return 2
    import uvicorn

    from bonito.agent.app import AgentApp
    from bonito.agent.state import StateDir
    from bonito.agent.token import OrgToken

    app = AgentApp(control_plane=control_plane, token=OrgToken(token, token_file), state=StateDir(state_dir),
                   local=local, sync_interval_s=sync_interval, heartbeat_interval_s=heartbeat_interval,
                   redis_url=os.environ.get("REDIS_URL") or None,
                   metrics_token=os.environ.get("BONITO_METRICS_TOKEN") or None)
    # uvicorn re-raises SIGTERM after its graceful shutdown; a clean stop exits 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=host, port=port, loop="uvloop", http="httptools", lifespan="on", access_log=False,
                log_level=log_level.lower(), timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, server_header=False,
                log_config=log_config)
    return 0


def _usage_problem(control_plane: str | None, token: str | None, token_file: str | None,
                   sync_interval: float, heartbeat_interval: float) -> str | None:
    if not control_plane:
        return "--control-plane URL (or BONITO_CONTROL_PLANE) is required"
    if not control_plane.startswith(("http://", "https://")):
        return f"--control-plane must be an http(s) URL, not {control_plane!r}"
    if not token and not token_file:
        return "an org token is required: --token bt-… (or BONITO_ORG_TOKEN) or --token-file FILE"
    if token and not token.strip().startswith("bt-"):
        return "--token must be an org token (bt-…)"
    if sync_interval <= 0 or heartbeat_interval <= 0:
        return "--sync-interval and --heartbeat-interval must be positive"
    return None


def load_local_config(path: str | None) -> BonitoConfig:
    """The agent's own `bonito.yaml`: its `providers:` (credentials stay here), `redis_url`, `limits`.
    `version: 1` may be left out."""
    if path is None:
        return BonitoConfig(version=1)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror or exc}") from exc
    if not any(line.startswith("version:") for line in text.splitlines()):
        text = "version: 1\n" + text
    return parse_config(text, name=str(p), environ=os.environ)


