"""The database as a snapshot source: full mode's snapshot and, in both modes, the governance overlay.

Every change through the API bumps `control_state.version` in its own transaction; each replica
reads that one row (every `poll_s`, or at once when told of a change) and, when it moved, loads
what changed in one session: the limits and budgets set through the API (the governance overlay)
and, in full mode, the whole snapshot, compiled beside the serving one and swapped in. Keys that
expire are dropped at their expiry without a version change.

Orgs own their names: two orgs may both call a model `gpt-4o-mini`; the snapshot keeps each
org's catalog apart (`Snapshot.by_org`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bonito.config.schema import CacheConfig, LimitsConfig, ProviderConfig
from bonito.control.notices import VersionNotices
from bonito.control.overlay import load_overlay
from bonito.gateway.compile import model_entry, provider_for
from bonito.providers.base import Provider
from bonito.secrets.backend import SecretBackend
from bonito.secrets.keyring import UnknownKeyError
from bonito.snapshot import (
    Catalog,
    KeyEntry,
    ModelEntry,
    Overlay,
    RouteEntry,
    Snapshot,
    compile_route,
    key_scope,
)
from bonito.snapshot.source import Serving
from bonito.store.accounts import Org
from bonito.store.catalog import (
    ControlState,
    GatewayConfigRow,
    GatewayKeyRow,
    ModelRow,
    ProviderRow,
    RoutingPolicyRow,
)
from bonito.usage.tags import pairs

log = logging.getLogger("bonito.control")
_CONFIG: TypeAdapter[Any] = TypeAdapter(ProviderConfig)

def org_view(snap: Snapshot, org_id: str) -> Catalog | None:
    """One org's models and routes in a database-built snapshot."""
    return snap.by_org.get(org_id) if snap.by_org is not None else None


class DatabaseSource:
    """Reads and watches the database; one per process (replica). A `SnapshotSource`.

    With `secrets` (full mode) it compiles the snapshot; without (config mode: `bonito.yaml`
    gives the snapshot) it carries only the governance overlay.
    """

    def __init__(self, engine: AsyncEngine, secrets: SecretBackend | None, *, redis_url: str | None = None,
                 cors_origins: tuple[str, ...] = (), poll_s: float = 0.5, fallback_poll_s: float = 5.0,
                 notices: VersionNotices | None = None, cache: CacheConfig | None = None) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._secrets = secrets
        self._redis_url = redis_url
        self._cors = cors_origins
        self._cache = cache
        self.poll_s = poll_s  # without notices (or while they are down)
        self.fallback_poll_s = fallback_poll_s  # with them: only in case one is lost
        self.notices = notices
        self.version: int | None = None
        self._next_expiry: datetime | None = None
        self._configs: dict[tuple[str, str], Any] = {}  # (provider id, secret ref) -> parsed config
        self._kick = asyncio.Event()  # look now: a notice, or a reload asked for
        self._forced = False  # reload whether or not the version moved
        self._lock = asyncio.Lock()

    async def current_version(self) -> int:
        async with self._sessions() as session:
            return await _version(session)

    async def _provider_config(self, row: ProviderRow) -> Any:
        key = (row.id, row.secret_ref)
        if key not in self._configs:
            assert self._secrets is not None  # only full mode compiles providers
            raw = await self._secrets.get(f"providers/{row.id}", row.secret_ref)
            self._configs = {k: v for k, v in self._configs.items() if k[0] != row.id}
            self._configs[key] = _CONFIG.validate_python(orjson.loads(raw))
        return self._configs[key]

    async def load(self, current: Snapshot | None = None) -> tuple[Snapshot | None, Overlay]:
        """Read the overlay and (full mode) compile the snapshot, in one session; provider pools
        are reused when unchanged."""
        async with self._lock, self._sessions() as session:
            version = await _version(session)
            overlay = await load_overlay(session)
            snap = await self._compile(session, version, current) if self._secrets is not None else None
        self.version = version
        return snap, overlay

    async def _compile(self, session: AsyncSession, version: int, current: Snapshot | None) -> Snapshot:
        # the control plane's services pull in FastAPI: config mode never compiles, never imports them
        from bonito.control.services import policy_config
        from bonito.control.services.common import aware

        orgs = {o.id: o for o in (await session.execute(select(Org))).scalars()}
        settings = {c.org_id: c.settings or {} for c in (await session.execute(select(GatewayConfigRow))).scalars()}
        providers: dict[str, Provider] = {}
        provider_ids: dict[str, dict[str, str]] = {}  # org -> name or id -> id
        for row in (await session.execute(select(ProviderRow))).scalars():
            enabled = settings.get(row.org_id, {}).get("enabled_providers")
            if enabled is not None and row.id not in enabled and row.name not in enabled:
                continue
            try:
                config = await self._provider_config(row)
                providers[row.id] = provider_for(row.id, config, current)
            except Exception as exc:
                hint = " (sealed under another master key: give every replica the same BONITO_MASTER_KEY)" \
                    if isinstance(exc, UnknownKeyError) else ""
                log.error("provider %s skipped: its config cannot be used (%s)%s", row.id, type(exc).__name__, hint)
                continue
            ids = provider_ids.setdefault(row.org_id, {})
            ids[row.id] = row.id
            ids.setdefault(row.name, row.id)

        models: dict[str, dict[str, ModelEntry]] = {}
        for m in (await session.execute(select(ModelRow).where(ModelRow.enabled.is_(True)))).scalars():
            provider = providers.get(m.provider_id)
            if provider is None:
                continue
            models.setdefault(m.org_id, {})[m.name] = model_entry(
                m.name, m.provider_id, provider, m.upstream_model, input_cost=m.input_cost_per_mtok,
                output_cost=m.output_cost_per_mtok, cached_input_cost=m.cached_input_cost_per_mtok,
                cache_write_cost=m.cache_write_cost_per_mtok, org_id=m.org_id)

        routes: dict[str, dict[str, RouteEntry]] = {}
        keys: dict[str, KeyEntry] = {}
        for r in (await session.execute(select(RoutingPolicyRow))).scalars():
            org_models = models.get(r.org_id, {})
            try:
                cfg = policy_config.read(r)
            except ValidationError as exc:
                log.error("routing policy %s not served: its stored settings are invalid (%s)", r.id,
                          exc.errors()[0]["loc"])
                continue
            servable = [t for t in cfg.targets if t.model in org_models]
            if not servable:
                log.warning("routing policy %s has no servable target; not served", r.id)
                continue
            # the same compiler as bonito.yaml's routes, so both serve every field alike
            routes.setdefault(r.org_id, {})[r.name] = compile_route(
                r.name, cfg.model_copy(update={"targets": servable}), org_models, org_id=r.org_id, id=r.id)
            if r.key_hash:
                keys[r.key_hash] = KeyEntry(id=r.id, name=f"route:{r.name}", org_id=r.org_id, key_hash=r.key_hash,
                                            route=r.name, tier=_tier(orgs, r.org_id))

        t = datetime.now(UTC)
        next_expiry: datetime | None = None
        for k in (await session.execute(select(GatewayKeyRow).where(GatewayKeyRow.revoked_at.is_(None)))).scalars():
            expires = aware(k.expires_at)
            if expires is not None:
                if expires <= t:
                    continue
                next_expiry = expires if next_expiry is None else min(next_expiry, expires)
            allowed, allowed_providers = key_scope(k.allowed_models, provider_ids.get(k.org_id, {}))
            default_rpm = settings.get(k.org_id, {}).get("default_requests_per_minute")
            keys[k.key_hash] = KeyEntry(
                id=k.id, name=k.name, org_id=k.org_id, key_hash=k.key_hash,
                requests_per_minute=k.requests_per_minute or default_rpm, tokens_per_minute=k.tokens_per_minute,
                allowed_models=allowed, allowed_providers=allowed_providers, tier=_tier(orgs, k.org_id),
                tags=pairs(k.tags), cache=k.cache)
        self._next_expiry = next_expiry

        by_org = {org: Catalog(models.get(org, {}), routes.get(org, {})) for org in set(models) | set(routes)}
        return Snapshot(version=version, keys=keys, models={}, routes={}, providers=providers,
                        limits=LimitsConfig(), redis_url=self._redis_url, cors_origins=self._cors,
                        source="database", by_org=by_org, cache=self._cache,
                        tag_keys={org: frozenset(s.get("tags") or ()) for org, s in settings.items()},
                        cache_off_orgs=frozenset(o for o, s in settings.items() if s.get("cache") is False))

    def request_reload(self) -> None:
        self._forced = True
        self._kick.set()

    def _noticed(self) -> None:
        """A notice (or a new subscription): read the version now; reload only if it moved."""
        self._kick.set()

    async def refresh(self, serving: Serving) -> None:
        """Read the database and serve it now."""
        snap, overlay = await self.load(serving.snapshot)
        if snap is not None:
            serving.swap(snap)
            log.info("control plane config: now serving version %d (%d keys)", snap.version, len(snap.keys))
        serving.govern(overlay)

    @property
    def interval_s(self) -> float:
        """How long until the version is read again unless a notice comes first; a key expiring
        sooner is dropped on time (to within `poll_s`) all the same."""
        wait = self.fallback_poll_s if self.notices is not None and self.notices.healthy else self.poll_s
        if self._next_expiry is not None:
            wait = min(wait, max(self.poll_s, (self._next_expiry - datetime.now(UTC)).total_seconds()))
        return wait

    async def watch(self, serving: Serving) -> None:
        """Run forever: reload when told of a change, when the version moves, a key expires, or on request."""
        listening = None
        if self.notices is not None and self.notices.enabled:
            listening = asyncio.get_running_loop().create_task(self.notices.listen(self._noticed))
        try:
            await self._follow(serving)
        finally:
            if listening is not None:
                listening.cancel()

    async def _follow(self, serving: Serving) -> None:
        down = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.interval_s)
            forced, self._forced = self._forced, False
            self._kick.clear()
            try:
                expired = self._next_expiry is not None and datetime.now(UTC) >= self._next_expiry
                if forced or expired or await self.current_version() != self.version:
                    await self.refresh(serving)
                if down:
                    log.info("database is back; config changes are followed again")
                down = False
            except Exception as exc:
                if not down:
                    log.warning("database unavailable (%s); serving the last snapshot", type(exc).__name__)
                down = True


async def _version(session: AsyncSession) -> int:
    return int(await session.scalar(select(ControlState.version).where(ControlState.id == 1)) or 0)


def _tier(orgs: dict[str, Org], org_id: str) -> str | None:
    org = orgs.get(org_id)
    return org.tier if org else None
