"""The control plane inside the platform: builds the /api app and, in full mode, the database source
that feeds the gateway its snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bonito.cache.settings import cache_from_env
from bonito.config.settings import Settings
from bonito.control.app import create_control_app, harden
from bonito.control.context import ControlContext
from bonito.control.notices import VersionNotices
from bonito.control.security import TokenIssuer, jwt_secret_from
from bonito.control.snapshot import DatabaseSource
from bonito.secrets.backend import secret_backend_from_env
from bonito.secrets.keyring import load_keyring
from bonito.snapshot import Snapshot
from bonito.snapshot.source import Serving
from bonito.store.accounts import User

log = logging.getLogger("bonito.control")

FIRST_ADMIN_HINT = """\
bonito: no admin account yet. Create the first one with
    bonito admin create --email you@example.com --password '<a long password>'
(from a checkout: .venv/bin/bonito ...), or register through the API:
    curl -X POST {url}/api/auth/register -H 'content-type: application/json' \\
         -d '{{"email": "you@example.com", "password": "...", "org_name": "my-org"}}'
"""


def cors_from_env() -> tuple[str, ...]:
    """Full mode has no bonito.yaml: `BONITO_CORS_ORIGINS` (comma-separated) is its `cors_origins`."""
    return tuple(o.strip() for o in os.environ.get("BONITO_CORS_ORIGINS", "").split(",") if o.strip())


class ControlPlane:
    def __init__(self, settings: Settings, engine: AsyncEngine, serving: Serving,
                 router: Callable[[], Any] | None = None, notify: Callable[[Any], None] | None = None,
                 notices: VersionNotices | None = None) -> None:
        self._serving = serving
        get_snapshot = self._snapshot
        self._task: asyncio.Task[None] | None = None
        self._agents_task: asyncio.Task[None] | None = None
        self._router = router
        secrets = secret_backend_from_env(settings.data_dir, settings.master_key)
        jwt_env = os.environ.get("BONITO_JWT_SECRET")
        signing = jwt_env.encode() if jwt_env else jwt_secret_from(
            load_keyring(settings.data_dir, settings.master_key).current)
        config_mode = settings.config_file is not None
        cors = cors_from_env()
        self.source = None if config_mode else DatabaseSource(
            engine, secrets, redis_url=settings.redis_url, cors_origins=cors, notices=notices,
            poll_s=settings.config_poll_s, fallback_poll_s=settings.config_fallback_poll_s,
            cache=cache_from_env(settings.cache_json))
        self.ctx = ControlContext(settings=settings, engine=engine, secrets=secrets, tokens=TokenIssuer(signing),
                                  get_snapshot=get_snapshot, config_mode=config_mode,
                                  refresh_snapshot=self.refresh, cors_origins=cors, plan_route=self.plan_route,
                                  notify=notify, announce=notices.announce if notices is not None else None)
        self.app: Any = harden(create_control_app(self.ctx), self.ctx)

    def _snapshot(self) -> Snapshot:
        return self._serving.snapshot

    def plan_route(self, route: Any, body: dict[str, Any]) -> dict[str, Any]:
        """A dry run by the gateway's own router: live breakers and observations, no state changed."""
        from bonito.routing.dry_run import dry_run
        from bonito.routing.router import Router

        router = self._router() if self._router is not None else Router()
        return dry_run(router, self._serving.snapshot, route, body)

    async def refresh(self) -> None:
        if self.source is not None:
            await self.source.refresh(self._serving)

    async def start(self) -> None:
        """Full mode: serve the database's config, then follow its changes."""
        if self.source is not None:
            try:
                await asyncio.wait_for(self.source.refresh(self._serving), 10)
            except Exception as exc:
                log.warning("database config not loaded at start (%s); retrying in the background",
                            type(exc).__name__)
            self._task = asyncio.create_task(self.source.watch(self._serving), name="bonito-config-watch")
        from bonito.control.services.agents import watch_offline

        self._agents_task = asyncio.create_task(watch_offline(self.ctx), name="bonito-agent-status")
        with contextlib.suppress(Exception):
            await self._hint_first_admin()

    async def _hint_first_admin(self) -> None:
        async with self.ctx.sessions() as session:
            users = await session.scalar(select(func.count()).select_from(User))
        if not users:
            url = os.environ.get("BONITO_PUBLIC_URL", "http://127.0.0.1:8000")
            print(FIRST_ADMIN_HINT.format(url=url), file=sys.stderr, flush=True)

    async def stop(self) -> None:
        for task in (self._task, self._agents_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
