"""Where cached answers live: a bounded in-process LRU, or Redis shared by every replica.

Both keep each org's entries apart (the org is part of every key and every
bound), expire them after their TTL, and cap the entries an org may hold.
A store that fails answers as a miss: the cache never stops a request.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger("bonito.cache")
REDIS_TIMEOUT_S = 0.5


class AnswerStore(Protocol):
    """Stored answers by (org, digest)."""

    async def get(self, org: str, digest: str) -> bytes | None: ...

    async def put(self, org: str, digest: str, value: bytes, ttl_s: float, max_entries: int) -> None: ...

    async def aclose(self) -> None: ...


class MemoryAnswerStore:
    """Per-org LRU dicts; an expired entry is dropped when it is next read or pushed out."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._orgs: dict[str, OrderedDict[str, tuple[float, bytes]]] = {}
        self._clock = clock

    async def get(self, org: str, digest: str) -> bytes | None:
        entries = self._orgs.get(org)
        found = entries.get(digest) if entries is not None else None
        if found is None or entries is None:
            return None
        expires, value = found
        if expires <= self._clock():
            del entries[digest]
            return None
        entries.move_to_end(digest)
        return value

    async def put(self, org: str, digest: str, value: bytes, ttl_s: float, max_entries: int) -> None:
        entries = self._orgs.setdefault(org, OrderedDict())
        # a fresh exact-size copy: orjson's output keeps its larger working buffer (~4 KB) allocated
        entries[digest] = (self._clock() + ttl_s, bytes(memoryview(value)))
        entries.move_to_end(digest)
        while len(entries) > max_entries:
            entries.popitem(last=False)

    def size(self, org: str) -> int:
        return len(self._orgs.get(org, ()))

    async def aclose(self) -> None:
        self._orgs.clear()


# Store the answer, note it in the org's recency index, and drop the oldest past the bound, atomically.
_PUT = """
local now = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now, KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  for _, k in ipairs(old) do redis.call('DEL', k) end
end
return 1
"""


class RedisAnswerStore:
    """Answers as `bonito:cache:{org}:a:{digest}` with a TTL; a sorted set per org bounds them."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis  # only a server with redis_url and a cache needs it

        self._redis = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
        self._put = self._redis.register_script(_PUT)
        self._down_logged = False

    @staticmethod
    def _key(org: str, digest: str) -> str:
        return f"bonito:cache:{{{org}}}:a:{digest}"

    async def get(self, org: str, digest: str) -> bytes | None:
        try:
            value = await self._redis.get(self._key(org, digest))
        except Exception as exc:
            self._unavailable(exc)
            return None
        self._down_logged = False
        return value if isinstance(value, bytes) else None

    async def put(self, org: str, digest: str, value: bytes, ttl_s: float, max_entries: int) -> None:
        try:
            await self._put(keys=[self._key(org, digest), f"bonito:cache:{{{org}}}:recent"],
                            args=[value, int(ttl_s * 1000), time.time(), max_entries])
        except Exception as exc:
            self._unavailable(exc)

    def _unavailable(self, exc: Exception) -> None:
        if not self._down_logged:
            log.warning("cache store unavailable (%s); answering as misses", type(exc).__name__)
            self._down_logged = True

    async def aclose(self) -> None:
        await self._redis.aclose()
