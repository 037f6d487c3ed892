"""The agent's snapshot source (a `SnapshotSource`): pulls `GET /api/agent/config` every sync interval (ETag, so an
unchanged config costs a 304), compiles it with the local credentials and swaps it in.

The last config applied is kept in the state dir, so an agent started while the control plane is
unreachable serves from it at once. A config the agent cannot apply leaves the old one serving;
the reason goes to the log and the next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import orjson

from bonito.agent.compile import AgentConfig, ConfigRejected, compile_document
from bonito.agent.state import StateDir
from bonito.config.schema import BonitoConfig
from bonito.snapshot.source import Serving

log = logging.getLogger("bonito.agent")


class ControlPlaneSource:
    def __init__(self, url: str, token: Callable[[], str | None], state: StateDir, local: BonitoConfig, *,
                 interval_s: float = 30.0, http: Callable[[], aiohttp.ClientSession]) -> None:
        self._url = url.rstrip("/") + "/api/agent/config"
        self._token = token
        self._state = state
        self._local = local
        self.interval_s = interval_s
        self._http = http
        self._etag: str | None = None
        self._doc: object = None
        self.current: AgentConfig | None = None
        self.error: str | None = None  # why the latest config was not applied
        self.reachable: bool | None = None
        self._kick = asyncio.Event()

    def load_cached(self, serving: Serving) -> bool:
        """Serve the last good config kept on disk; False when there is none (or it is unusable)."""
        cached = self._state.cached_config()
        if cached is None:
            return False
        body, etag = cached
        try:
            self._use(orjson.loads(body), etag, serving)
        except (ConfigRejected, orjson.JSONDecodeError) as exc:
            log.error("cached config not used: %s", exc)
            return False
        self._etag = etag
        log.info("serving the cached config (version %s) until the control plane answers", self.current_version)
        return True

    @property
    def current_version(self) -> str | None:
        return self.current.version if self.current else None

    def _use(self, doc: object, etag: str | None, serving: Serving) -> None:
        compiled = compile_document(doc, self._local, etag, serving.snapshot)
        self.current, self._doc = compiled, doc
        serving.swap(compiled.snapshot)
        serving.govern(compiled.overlay)
        for problem in compiled.problems:
            log.warning("config version %s: %s", compiled.version, problem)

    async def refresh(self, serving: Serving) -> None:
        """Pull now (raises when the control plane cannot be asked or refuses)."""
        await self.pull(serving)

    async def pull(self, serving: Serving) -> bool:
        """One pull; True when a new config was applied."""
        headers = {"Authorization": f"Bearer {self._token() or ''}"}
        if self._etag and self.current is not None:
            headers["If-None-Match"] = self._etag
        async with self._http().get(self._url, headers=headers, timeout=aiohttp.ClientTimeout(total=15)) as resp:
            if resp.status == 304:
                self._expire_keys(serving)
                return False
            if resp.status != 200:
                raise PullRefused(resp.status)
            body, etag = await resp.read(), resp.headers.get("ETag")
        try:
            self._use(orjson.loads(body), etag, serving)
        except (ConfigRejected, orjson.JSONDecodeError) as exc:
            self.error = str(exc)
            log.error("config from the control plane not applied, still serving %s: %s", self.current_version, exc)
            return False
        self.error = None
        self._etag = etag
        await asyncio.to_thread(self._state.save_config, body, etag)
        log.info("config version %s applied (%d keys, %d models, %d routes)", self.current_version,
                 len(serving.snapshot.keys), len(serving.snapshot.models), len(serving.snapshot.routes))
        return True

    def _expire_keys(self, serving: Serving) -> None:
        """A key past its expiry stops working without a new config."""
        cur = self.current
        if cur is not None and cur.next_expiry is not None and datetime.now(UTC) >= cur.next_expiry:
            with contextlib.suppress(ConfigRejected):
                self._use(self._doc, self._etag, serving)

    def request_reload(self) -> None:
        self._kick.set()

    async def watch(self, serving: Serving) -> None:
        """Run forever: pull now, then every `interval_s`."""
        while True:
            try:
                await self.pull(serving)
                if self.reachable is False:
                    log.info("control plane reachable again; config followed")
                self.reachable = True
            except Exception as exc:
                if self.reachable is not False:
                    why = str(exc) if isinstance(exc, PullRefused) else type(exc).__name__
                    log.warning("config not pulled (%s); serving version %s", why, self.current_version)
                self.reachable = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.interval_s)
            self._kick.clear()


class PullRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"the control plane answered {status}" + (" (is the org token valid?)"
                                                                    if status == 401 else ""))
        self.status = status
