"""Telling replicas that the config version moved, so they need not poll for it.

Every change through the API bumps `control_state.version`. With Redis configured the writer
publishes on a channel after its commit and every replica subscribed to it reloads at once; on
PostgreSQL without Redis the bump itself sends `NOTIFY` in its transaction (delivered on commit)
and replicas `LISTEN`. The database source then polls only as a slow fallback, and fast again
while its subscription is down, so a lost notice costs at most one fallback interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("bonito.control")

CHANNEL = "bonito:config-version"  # Redis pub/sub
PG_CHANNEL = "bonito_config_version"  # PostgreSQL LISTEN/NOTIFY
RETRY_S = (0.5, 1.0, 2.0, 5.0)  # reconnecting a lost subscription
ANNOUNCE = "bonito.announce"  # session.info: what a committed version bump calls


class VersionNotices:
    """One per process: publishes this process's version bumps and hears everyone's."""

    def __init__(self, redis_url: str | None, database_url: URL | None = None) -> None:
        self.redis_url = redis_url
        # LISTEN needs a connection of its own: only PostgreSQL without Redis uses one
        self._pg_url = database_url if redis_url is None and database_url is not None \
            and database_url.get_backend_name() == "postgresql" else None
        self.healthy = False  # subscribed now: the source may poll slowly
        self._client: Any = None  # the publishing Redis client, made on first use
        self._published: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.redis_url is not None or self._pg_url is not None

    # -- publishing ---------------------------------------------------------
    def announce(self) -> None:
        """A version bump was committed: tell the other replicas (Redis; PostgreSQL's NOTIFY rode
        in the transaction). Never raises: the fallback poll covers a notice that is lost."""
        if self.redis_url is None:
            return
        task = asyncio.get_running_loop().create_task(self._publish())
        self._published.add(task)
        task.add_done_callback(self._published.discard)

    async def _publish(self) -> None:
        try:
            if self._client is None:
                from redis.asyncio import Redis

                self._client = Redis.from_url(self.redis_url or "", socket_timeout=2, socket_connect_timeout=2)
            await self._client.publish(CHANNEL, b"1")
        except Exception as exc:
            log.debug("config change not announced on Redis (%s); replicas poll for it", type(exc).__name__)

    # -- listening ----------------------------------------------------------
    async def listen(self, heard: Callable[[], None]) -> None:
        """Run forever: call `heard` on every notice, and on each (re)subscription (a change may
        have come while the subscription was down)."""
        failures = 0
        while True:
            try:
                if self.redis_url is not None:
                    await self._listen_redis(heard)
                elif self._pg_url is not None:
                    await self._listen_postgres(heard)
                else:
                    return
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.healthy or failures == 0:
                    log.warning("config change notices lost (%s); polling the database until they are back",
                                type(exc).__name__)
                failures += 1
            self.healthy = False
            heard()
            await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])

    async def _listen_redis(self, heard: Callable[[], None]) -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(self.redis_url or "", socket_connect_timeout=2, health_check_interval=10)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                self._subscribed(heard)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is None:
                        await pubsub.ping()  # a dead server shows here, not as a silent channel
                    elif message["type"] == "message":  # not the ping's pong
                        heard()
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _listen_postgres(self, heard: Callable[[], None]) -> None:
        import asyncpg

        assert self._pg_url is not None
        dsn = self._pg_url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn, timeout=5)
        closed = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _: closed.set())
            await conn.add_listener(PG_CHANNEL, lambda *_: heard())
            self._subscribed(heard)
            # no keep-alive query (that would be the idle load this replaces): a connection the server
            # closes ends the wait; one that dies silently costs at most the fallback poll per notice
            await closed.wait()
            raise ConnectionError("the LISTEN connection closed")
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def _subscribed(self, heard: Callable[[], None]) -> None:
        if not self.healthy:
            log.info("config change notices: subscribed (%s)", "Redis" if self.redis_url else "PostgreSQL LISTEN")
        self.healthy = True
        heard()

    async def aclose(self) -> None:
        for task in list(self._published):
            task.cancel()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()


def announce_after_commit(session: AsyncSession) -> None:
    """Have the session's owner announce the version bump once this transaction commits."""
    announce: Callable[[], None] | None = session.info.get(ANNOUNCE)
    sync = session.sync_session
    if announce is None or sync.info.get("bonito.announcing"):
        return
    sync.info["bonito.announcing"] = True

    def committed(_: Any) -> None:
        sync.info.pop("bonito.announcing", None)
        announce()

    event.listen(sync, "after_commit", committed, once=True)
