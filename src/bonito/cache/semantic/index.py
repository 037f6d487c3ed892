"""The semantic cache: nearest cached prompt of the same org and context, then a near-miss check.

A lookup embeds the prompt, takes the few nearest entries of the same org and
context (every other field identical) whose cosine similarity reaches the
threshold, and serves the closest that the near-miss check does not refuse.
Entries are bounded per org.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bonito.cache.semantic.nearmiss import CANDIDATES, COSINE_FLOOR, refusal

if TYPE_CHECKING:
    import numpy as np

    from bonito.config.schema import SemanticCacheConfig


class Encoder(Protocol):
    """Turns a prompt into a unit vector; `name` keeps vectors of different encoders apart."""

    @property
    def name(self) -> str: ...

    async def embed(self, text: str) -> np.ndarray: ...


class BuiltinEncoder:
    """The packaged all-MiniLM-L6-v2, loaded on first use."""

    name = "builtin"

    async def embed(self, text: str) -> np.ndarray:
        from bonito.cache.semantic.encoder import builtin_encoder

        return builtin_encoder().embed(text)


@dataclass(slots=True)
class Entry:
    context: str
    text: str
    digest: str
    vector: np.ndarray
    expires: float


class VectorIndex(Protocol):
    async def entries(self, org: str, context: str) -> list[Entry]: ...

    async def add(self, org: str, entry: Entry, max_entries: int) -> None: ...

    async def aclose(self) -> None: ...


class MemoryVectorIndex:
    """Per-org LRU of entries, grouped by context: a lookup reads only its own context's entries."""

    def __init__(self, clock: Any = time.time) -> None:
        self._orgs: dict[str, OrderedDict[tuple[str, str], Entry]] = {}  # recency order, for the per-org bound
        self._contexts: dict[tuple[str, str], dict[str, Entry]] = {}  # (org, context) -> digest -> entry
        self._clock = clock

    async def entries(self, org: str, context: str) -> list[Entry]:
        found = self._contexts.get((org, context))
        if not found:
            return []
        now = self._clock()
        for digest in [d for d, e in found.items() if e.expires <= now]:
            self._drop(org, context, digest)
        return list(found.values())

    async def add(self, org: str, entry: Entry, max_entries: int) -> None:
        entries = self._orgs.setdefault(org, OrderedDict())
        entries[(entry.context, entry.digest)] = entry
        entries.move_to_end((entry.context, entry.digest))
        self._contexts.setdefault((org, entry.context), {})[entry.digest] = entry
        while len(entries) > max_entries:
            context, digest = next(iter(entries))
            self._drop(org, context, digest)

    def _drop(self, org: str, context: str, digest: str) -> None:
        self._orgs[org].pop((context, digest), None)
        group = self._contexts.get((org, context))
        if group is not None:
            group.pop(digest, None)
            if not group:
                del self._contexts[(org, context)]

    async def aclose(self) -> None:
        self._orgs.clear()
        self._contexts.clear()


class SemanticCache:
    """Finds the stored answer digest a prompt may be served with."""

    def __init__(self, index: VectorIndex, threshold: float, ttl_s: float, max_entries: int,
                 clock: Any = time.time) -> None:
        self.index = index
        self.threshold = threshold
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock

    @classmethod
    def build(cls, cfg: SemanticCacheConfig, redis_url: str | None) -> SemanticCache:
        from bonito.cache.semantic.encoder import DEFAULT_THRESHOLD
        from bonito.cache.semantic.redis_index import RedisVectorIndex

        index: VectorIndex = RedisVectorIndex(redis_url) if redis_url else MemoryVectorIndex()
        threshold = cfg.threshold if cfg.threshold is not None else DEFAULT_THRESHOLD
        return cls(index, threshold, cfg.ttl_s, cfg.max_entries)

    async def find(self, org: str, context: str, text: str, encoder: Encoder) -> tuple[str | None, np.ndarray]:
        """(digest of the answer to serve or None, the prompt's vector for storing it later)."""
        vector = await encoder.embed(text)
        context = f"{encoder.name}:{context}"  # vectors of different encoders never meet
        entries = await self.index.entries(org, context)
        if not entries:
            return None, vector
        import numpy as np

        scores = np.stack([e.vector for e in entries]) @ vector
        floor = max(self.threshold, COSINE_FLOOR)
        for i in np.argsort(-scores)[:CANDIDATES]:
            if scores[i] < floor:
                break
            if refusal(text, entries[i].text) is None:
                return entries[i].digest, vector
        return None, vector

    async def aclose(self) -> None:
        await self.index.aclose()

    async def add(self, org: str, context: str, text: str, digest: str, encoder: Encoder,
                  vector: np.ndarray | None = None) -> None:
        vec = vector if vector is not None else await encoder.embed(text)
        entry = Entry(f"{encoder.name}:{context}", text, digest, vec, self._clock() + self.ttl_s)
        await self.index.add(org, entry, self.max_entries)
