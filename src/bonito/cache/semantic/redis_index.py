"""The semantic index in Redis, shared by every replica, without a vector-search module.

Debian's redis-server has no RediSearch, so this is the documented fallback:
each (org, context) keeps a hash of its entries (prompt text, answer digest,
float32 vector, expiry, and the int8 word-piece vectors of the alignment check), bounded per org by a recency sorted set; a lookup
reads the context's entries and ranks them in process. Contexts are narrow
(same org, model and every other field), so a scan reads few entries.
"""

from __future__ import annotations

import logging
import struct
import time
from typing import Any

import orjson

from bonito.cache.semantic.alignment import Pieces
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
            start = 4 + head_len
            dim, n = head.get("dim", (len(value) - start) // 4), head.get("pieces", -1)
            vector = np.frombuffer(value, dtype=np.float32, count=dim, offset=start)
            pieces = None
            if n >= 0:  # value: head, vector, one float32 scale per piece, the pieces as int8 rows
                scales = np.frombuffer(value, dtype=np.float32, count=n, offset=start + 4 * dim)
                codes = np.frombuffer(value, dtype=np.int8, count=n * dim, offset=start + 4 * (dim + n))
                pieces = Pieces(codes.reshape(n, dim), scales)
            out.append(Entry(context, head["text"], digest.decode(), vector, head["expires"], pieces))
        return out

    async def add(self, org: str, entry: Entry, max_entries: int) -> None:
        meta: dict[str, Any] = {"text": entry.text, "expires": entry.expires, "dim": len(entry.vector)}
        tail = b""
        if entry.pieces is not None:
            meta["pieces"] = len(entry.pieces.scales)
            tail = entry.pieces.scales.astype("<f4").tobytes() + entry.pieces.codes.astype("int8").tobytes()
        head = orjson.dumps(meta)
        value = struct.pack("<I", len(head)) + head + entry.vector.astype("<f4").tobytes() + tail
        ttl_ms = max(1, int((entry.expires - time.time()) * 1000))
        try:
            await self._add(keys=[self._key(org, entry.context), f"bonito:cache:{{{org}}}:s-recent"],
                            args=[entry.digest, value, ttl_ms, time.time(), max_entries])
        except Exception as exc:
            log.warning("semantic index unavailable (%s); entry not kept", type(exc).__name__)

    async def aclose(self) -> None:
        await self._redis.aclose()
