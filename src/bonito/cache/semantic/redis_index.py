"""The semantic index in Redis, shared by every replica, without a vector-search module.

Debian's redis-server has no RediSearch, so this is the documented fallback:
each (org, context) keeps a hash of its entries (prompt text, answer digest,
float32 vector, expiry), bounded per org by a recency sorted set; a lookup
reads the context's entries and ranks them in process. Contexts are narrow
(same org, model and every other field), so a scan reads few entries.
"""

from __future__ import annotations

import logging
import struct
import time
from typing import Any

import orjson

from bonito.cache.semantic.index import Entry
from bonito.cache.store import REDIS_TIMEOUT_S

log = logging.getLogger("bonito.cache")

# Add an entry to its context's hash and the org's recency set; drop the oldest past the bound.
_ADD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], KEYS[1] .. '|' .. ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  for _, member in ipairs(old) do
    local sep = string.find(member, '|', 1, true)
    redis.call('HDEL', string.sub(member, 1, sep - 1), string.sub(member, sep + 1))
  end
end
return 1
"""


class RedisVectorIndex:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)
        self._add = self._redis.register_script(_ADD)

    @staticmethod
    def _key(org: str, context: str) -> str:
        return f"bonito:cache:{{{org}}}:s:{context}"

    async def entries(self, org: str, context: str) -> list[Entry]:
        import numpy as np

        try:
            raw: Any = await self._redis.hgetall(self._key(org, context))  # type: ignore[misc]
        except Exception as exc:
            log.warning("semantic index unavailable (%s); answering as a miss", type(exc).__name__)
            return []
        now = time.time()
        out: list[Entry] = []
        for digest, value in raw.items():
            (head_len,) = struct.unpack_from("<I", value)
            head: dict[str, Any] = orjson.loads(value[4:4 + head_len])
            if head["expires"] <= now:
                continue
            vector = np.frombuffer(value[4 + head_len:], dtype=np.float32)
            out.append(Entry(context, head["text"], digest.decode(), vector, head["expires"]))
        return out

    async def add(self, org: str, entry: Entry, max_entries: int) -> None:
        head = orjson.dumps({"text": entry.text, "expires": entry.expires})
        value = struct.pack("<I", len(head)) + head + entry.vector.astype("float32").tobytes()
        ttl_ms = max(1, int((entry.expires - time.time()) * 1000))
        try:
            await self._add(keys=[self._key(org, entry.context), f"bonito:cache:{{{org}}}:s-recent"],
                            args=[entry.digest, value, ttl_ms, time.time(), max_entries])
        except Exception as exc:
            log.warning("semantic index unavailable (%s); entry not kept", type(exc).__name__)

    async def aclose(self) -> None:
        await self._redis.aclose()
