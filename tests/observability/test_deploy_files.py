"""The deploy files speak of what Bonito really exposes: metric names, commands, health paths."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\b(bonito_[a-z_]+)")


def exposed_names() -> set[str]:
    """Every sample name a scrape can show (a fresh in-memory registry of the real families)."""
    from prometheus_client.samples import Sample

    from bonito.observability.metrics import Metrics

    m = Metrics()
    assert m.registry is not None
    names: set[str] = set()
    for family in m.registry.collect():
        names.add(family.name)
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
        names.update(family.name + s for s in suffixes.get(family.type, [""]))
        names.update(s.name for s in family.samples if isinstance(s, Sample))
    return names


def test_dashboard_and_alerts_only_query_metrics_bonito_exposes() -> None:
    exposed = exposed_names()
    dashboard = orjson.loads((DEPLOY / "grafana" / "bonito-dashboard.json").read_bytes())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    used = {name for e in exprs for name in METRIC.findall(e)}
    assert used, "no Bonito metric is queried"
    assert used <= exposed, f"queried but never exposed: {sorted(used - exposed)}"
    # the contract's families are all on the dashboard
    for family in ("bonito_requests_total", "bonito_request_duration_seconds_bucket",
                   "bonito_time_to_first_token_seconds_bucket", "bonito_tokens_total", "bonito_cost_usd_total",
                   "bonito_upstream_errors_total", "bonito_circuit_breaker_open", "bonito_usage_pending_records",
                   "bonito_cache_hits_total"):
        assert family in used, family


def parse(argv: list[str]) -> None:
    """Parse `bonito ARGV` as the CLI would, without running it (click raises on an unknown option)."""
    import typer.main

    from bonito.cli.main import app

    group = typer.main.get_command(app)
    with group.make_context("bonito", list(argv[:1]), resilient_parsing=False) as ctx:
        command = group.get_command(ctx, argv[0])  # type: ignore[attr-defined]
        assert command is not None, f"no command {argv[0]!r}"
        command.make_context(argv[0], list(argv[1:]), parent=ctx)


def test_compose_and_chart_commands_are_ones_the_cli_takes() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    commands = [svc["command"] for svc in compose["services"].values()
                if str(svc.get("image", "")).startswith("${BONITO_IMAGE")]
    assert len(commands) == 4  # migrate, two replicas, the agent
    for argv in commands:
        parse(argv)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    parse(orjson.loads(dockerfile.split("\nCMD ", 1)[1].splitlines()[0]))
    chart = (DEPLOY / "helm" / "bonito" / "templates" / "deployment.yaml").read_text()
    # readiness on /health/ready, liveness on /health (the contract's two health checks)
    assert re.search(r"readinessProbe:\s+httpGet: \{path: /health/ready,", chart)
    assert re.search(r"livenessProbe:\s+httpGet: \{path: /health,", chart)
