"""Process settings from the environment (see CONTRACT.md, "Environment")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(".bonito"))
    database_url: str | None = None
    master_key: str | None = None
    admin_emails: tuple[str, ...] = ()
    redis_url: str | None = None
    config_file: Path | None = None
    metrics_token: str | None = None  # BONITO_METRICS_TOKEN: GET /metrics wants it as a Bearer token
    aws_cost_explorer_url: str | None = None  # another Cost Explorer endpoint (a VPC endpoint, a test double)
    azure_management_url: str | None = None  # another Azure Resource Manager endpoint (sovereign clouds, tests)
    bigquery_url: str | None = None  # another BigQuery API endpoint (tests)
    # VPC agents' status: connected up to `agent_delayed_s` after a heartbeat, offline past `agent_offline_s`
    agent_delayed_s: float = 120.0
    agent_offline_s: float = 300.0
    cache_json: str | None = None  # BONITO_CACHE: full mode's `cache:` section as JSON
    # how often a worker reads the config version: without notices, and with them (a fallback)
    config_poll_s: float = 0.5
    config_fallback_poll_s: float = 5.0

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'bonito.db').resolve()}"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        cfg = env.get("BONITO_CONFIG_FILE")
        return cls(
            data_dir=Path(env.get("BONITO_DATA_DIR", ".bonito")),
            database_url=env.get("BONITO_DATABASE_URL") or None,
            master_key=env.get("BONITO_MASTER_KEY") or None,
            admin_emails=tuple(e.strip().lower() for e in env.get("ADMIN_EMAILS", "").split(",") if e.strip()),
            redis_url=env.get("REDIS_URL") or None,
            config_file=Path(cfg) if cfg else None,
            metrics_token=env.get("BONITO_METRICS_TOKEN") or None,
            aws_cost_explorer_url=env.get("BONITO_AWS_COST_EXPLORER_URL") or None,
            azure_management_url=env.get("BONITO_AZURE_MANAGEMENT_URL") or None,
            bigquery_url=env.get("BONITO_BIGQUERY_URL") or None,
            agent_delayed_s=float(env.get("BONITO_AGENT_DELAYED_S") or 120.0),
            agent_offline_s=float(env.get("BONITO_AGENT_OFFLINE_S") or 300.0),
            cache_json=env.get("BONITO_CACHE") or None,
            config_poll_s=float(env.get("BONITO_CONFIG_POLL_S") or 0.5),
            config_fallback_poll_s=float(env.get("BONITO_CONFIG_FALLBACK_POLL_S") or 5.0),
        )
