"""What the control plane needs from the platform, handed over once at start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bonito.config.settings import Settings
from bonito.control.notices import ANNOUNCE
from bonito.control.security import TokenIssuer
from bonito.secrets.backend import SecretBackend
from bonito.snapshot import Snapshot


async def _no_refresh() -> None:
    return None


@dataclass
class ControlContext:
    """The control plane's dependencies (`create_control_app(ctx)`)."""

    settings: Settings
    engine: AsyncEngine
    secrets: SecretBackend
    tokens: TokenIssuer
    get_snapshot: Callable[[], Snapshot]
    # full mode: the database is the source of truth; config mode: bonito.yaml is, /api is read-mostly
    config_mode: bool = False
    refresh_snapshot: Callable[[], Awaitable[None]] = _no_refresh
    cors_origins: tuple[str, ...] = ()
    login_max_failures_account: int = 5
    login_max_failures_ip: int = 20
    # dry run: (RouteEntry, request body) -> bonito.routing.dry_run's answer
    plan_route: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None
    # hands an alert (bonito.alerts.model.Alert) to the platform's alert service
    notify: Callable[[Any], None] | None = None
    catalog_cache: dict[str, tuple[float, list[dict[str, Any]]]] = field(default_factory=dict)
    # tells the other replicas a committed version bump (bonito.control.notices)
    announce: Callable[[], None] | None = None
    sessions: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        info = {ANNOUNCE: self.announce} if self.announce is not None else None
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, info=info)

    def max_body_bytes(self) -> int:
        return self.get_snapshot().max_body_bytes
