"""The semantic cache: nearest cached prompt of the same org and context, then a second stage refusing near-misses.

A lookup embeds the prompt, takes the few nearest entries of the same org and
context (every other field identical) whose cosine similarity reaches the
threshold, and serves the closest that the second stage accepts: the near-miss
rules (nearmiss.py) and, with the built-in encoder, the word alignment
(alignment.py). Entries are bounded per org.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bonito.cache.semantic.alignment import ALIGNMENT_CUT, Pieces, worst_alignment
from bonito.cache.semantic.nearmiss import CANDIDATES, COSINE_FLOOR, refusal

if TYPE_CHECKING:
    import numpy as np

    from bonito.config.schema import SemanticCacheConfig


@dataclass(slots=True)
class Embedded:
    """A prompt's unit vector and, when the encoder gives them, its unit word-piece vectors (n, dim)."""

    vector: np.ndarray
    pieces: np.ndarray | None = None


class Encoder(Protocol):
    """Turns a prompt into a unit vector; `name` keeps vectors of different encoders apart."""

    @property
    def name(self) -> str: ...

    async def embed(self, text: str) -> Embedded: ...


class BuiltinEncoder:
    """The packaged all-MiniLM-L6-v2, loaded on first use; its one pass gives the word pieces too."""

    name = "builtin"

    async def embed(self, text: str) -> Embedded:
        from bonito.cache.semantic.encoder import builtin_encoder

        encoded = builtin_encoder().encode(text)
        return Embedded(encoded.vector, encoded.tokens)


@dataclass(slots=True)
class Entry:
    context: str
    text: str
    digest: str
    vector: np.ndarray
    expires: float
    pieces: Pieces | None = None  # the built-in encoder's word pieces, for the alignment check


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

    async def find(self, org: str, context: str, text: str, encoder: Encoder) -> tuple[str | None, Embedded]:
        """(digest of the answer to serve or None, the prompt's embedding for storing it later)."""
        embedded = await encoder.embed(text)
        context = f"{encoder.name}:{context}"  # vectors of different encoders never meet
        entries = await self.index.entries(org, context)
        if not entries:
            return None, embedded
        import numpy as np

        scores = np.stack([e.vector for e in entries]) @ embedded.vector
        floor = max(self.threshold, COSINE_FLOOR)
        for i in np.argsort(-scores)[:CANDIDATES]:
            if scores[i] < floor:
                break
            if accepts(text, embedded, entries[i]):
                return entries[i].digest, embedded
        return None, embedded

    async def aclose(self) -> None:
        await self.index.aclose()

    async def add(self, org: str, context: str, text: str, digest: str, encoder: Encoder,
                  embedded: Embedded | None = None) -> None:
        emb = embedded if embedded is not None else await encoder.embed(text)
        pieces = Pieces.pack(emb.pieces) if emb.pieces is not None else None
        entry = Entry(f"{encoder.name}:{context}", text, digest, emb.vector, self._clock() + self.ttl_s, pieces)
        await self.index.add(org, entry, self.max_entries)


def accepts(query: str, embedded: Embedded, entry: Entry) -> bool:
    """The second stage: no near-miss rule refuses the pair, and every query word has a counterpart."""
    if refusal(query, entry.text) is not None:
        return False
    if embedded.pieces is None or entry.pieces is None:
        return True  # an org's own embedding model gives no word pieces: the rules alone decide
    return worst_alignment(embedded.pieces, entry.pieces) >= ALIGNMENT_CUT
