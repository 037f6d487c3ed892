"""The response cache across a server's life: decides per request, looks up, stores.

It follows the snapshot (config reloads, `redis_url` changes) and keeps its
stores between requests; everything it holds is keyed by org.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from bonito.cache.key import cache_control, exact_digest, semantic_split
from bonito.cache.store import AnswerStore, MemoryAnswerStore, RedisAnswerStore

if TYPE_CHECKING:
    from bonito.cache.semantic.index import Encoder, SemanticCache
    from bonito.providers.base import Operation
    from bonito.snapshot import KeyEntry, Snapshot

log = logging.getLogger("bonito.cache")
HitKind = Literal["hit", "semantic-hit"]


@dataclass(slots=True)
class CachedAnswer:
    """A complete 200 answer and what serving it first cost."""

    answer: dict[str, Any]
    model_used: str | None
    provider: str | None
    upstream_model: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: str  # what the cache saves each time it serves this

    def dumps(self) -> bytes:
        return orjson.dumps({"answer": self.answer, "model_used": self.model_used, "provider": self.provider,
                             "upstream_model": self.upstream_model, "prompt_tokens": self.prompt_tokens,
                             "completion_tokens": self.completion_tokens, "cost_usd": self.cost_usd})

    @classmethod
    def loads(cls, raw: bytes) -> CachedAnswer | None:
        try:
            d = orjson.loads(raw)
            return cls(answer=d["answer"], model_used=d["model_used"], provider=d["provider"],
                       upstream_model=d["upstream_model"], prompt_tokens=int(d["prompt_tokens"]),
                       completion_tokens=int(d["completion_tokens"]), cost_usd=str(d["cost_usd"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None  # written by another version: a miss, not an error


@dataclass(slots=True)
class CacheRequest:
    """One request's dealings with the cache."""

    org: str
    op: Operation
    digest: str
    read: bool  # may be answered from the cache
    write: bool  # its answer may be stored
    ttl_s: float
    max_entries: int
    store: AnswerStore
    semantic: SemanticCache | None = None
    semantic_key: tuple[str, str] | None = None  # (context digest, text)
    encoder: Encoder | None = None
    exact: bool = True  # an identical request is an exact hit (else only the semantic cache is on)
    hit: HitKind | None = field(default=None)
    vector: Any = None  # the prompt's embedding, computed once per request

    async def lookup(self) -> CachedAnswer | None:
        """The exact entry, else (chat) the nearest accepted semantic one."""
        if not self.read:
            return None
        raw = await self.store.get(self.org, self.digest)
        found = CachedAnswer.loads(raw) if raw is not None else None
        if found is not None:
            self.hit = "hit" if self.exact else "semantic-hit"
            return found
        if self.semantic is not None and self.semantic_key is not None and self.encoder is not None:
            try:
                digest, self.vector = await self.semantic.find(self.org, *self.semantic_key, self.encoder)
            except Exception as exc:  # an embedding model failing makes a miss, never a failed request
                log.warning("semantic lookup skipped: %s", type(exc).__name__)
                self.semantic = None
                return None
            raw = await self.store.get(self.org, digest) if digest is not None else None
            found = CachedAnswer.loads(raw) if raw is not None else None
            if found is not None:
                self.hit = "semantic-hit"
                return found
        return None

    async def save(self, entry: CachedAnswer) -> None:
        if not self.write:
            return
        await self.store.put(self.org, self.digest, entry.dumps(), self.ttl_s, self.max_entries)
        if self.semantic is not None and self.semantic_key is not None and self.encoder is not None:
            try:
                await self.semantic.add(self.org, *self.semantic_key, self.digest, self.encoder, self.vector)
            except Exception as exc:
                log.warning("semantic entry not kept: %s", type(exc).__name__)


class ResponseCache:
    """Owns the stores; `fallback_url` is REDIS_URL from the environment."""

    def __init__(self, fallback_url: str | None = None) -> None:
        self.fallback_url = fallback_url
        self._url: str | None = None
        self._store: AnswerStore | None = None
        self._semantic: SemanticCache | None = None
        self._semantic_cfg: object = None
        self._old: list[AnswerStore] = []

    def enabled_for(self, snap: Snapshot, org: str) -> bool:
        """Whether answers to this org carry `x-bonito-cache`."""
        return snap.cache is not None and org not in snap.cache_off_orgs

    def begin(self, snap: Snapshot, key: KeyEntry, public_model: str, route_cache: bool, op: Operation,
              body: dict[str, Any], cache_control_header: bytes | None) -> CacheRequest | None:
        """None when the cache is off for this org; else how this request may use it."""
        cfg = snap.cache
        if cfg is None or key.org_id in snap.cache_off_orgs:
            return None
        no_cache, no_store = cache_control(cache_control_header)
        opted_in = key.cache and route_cache
        ttl, bound = (cfg.exact.ttl_s, cfg.exact.max_entries) if cfg.exact is not None else (0.0, 0)
        semantic: SemanticCache | None = None
        semantic_key: tuple[str, str] | None = None
        encoder = _encoder(snap, key.org_id, cfg.semantic.embedding_model) if cfg.semantic is not None else None
        if cfg.semantic is not None and op == "chat" and encoder is not None:
            semantic_key = semantic_split(key.org_id, public_model, body)
            if semantic_key is not None:
                semantic = self._semantic_for(snap)
                ttl = max(ttl, cfg.semantic.ttl_s)
                bound = max(bound, cfg.semantic.max_entries)
        usable = opted_in and (cfg.exact is not None or semantic is not None)
        return CacheRequest(
            org=key.org_id, op=op, digest=exact_digest(key.org_id, public_model, op, body),
            read=usable and not no_cache, write=usable and not no_store, ttl_s=ttl, max_entries=bound,
            store=self._store_for(snap), semantic=semantic, semantic_key=semantic_key, encoder=encoder,
            exact=cfg.exact is not None)

    def _redis_url(self, snap: Snapshot) -> str | None:
        return snap.redis_url or self.fallback_url

    def _store_for(self, snap: Snapshot) -> AnswerStore:
        url = self._redis_url(snap)
        if self._store is None or url != self._url:
            if self._store is not None:
                self._old.append(self._store)
            self._store = RedisAnswerStore(url) if url else MemoryAnswerStore()
            self._url = url
        return self._store

    def _semantic_for(self, snap: Snapshot) -> SemanticCache:
        from bonito.cache.semantic.index import SemanticCache  # the encoder loads only when configured

        cfg = snap.cache.semantic if snap.cache is not None else None
        assert cfg is not None
        url = self._redis_url(snap)
        if self._semantic is None or self._semantic_cfg != (cfg, url):
            self._semantic = SemanticCache.build(cfg, url)
            self._semantic_cfg = (cfg, url)
        return self._semantic

    async def aclose(self) -> None:
        for store in [*self._old, *([self._store] if self._store is not None else [])]:
            try:
                await store.aclose()
            except Exception as exc:  # closing at shutdown must not stop the rest of it
                log.debug("cache store close failed: %s", exc)
        self._old.clear()
        self._store = None
        if self._semantic is not None:
            await self._semantic.aclose()
            self._semantic = None


def _encoder(snap: Snapshot, org: str, embedding_model: str | None) -> Encoder | None:
    """The built-in encoder, or the org's own embedding model (None when the org has no such model)."""
    from bonito.cache.semantic.index import BuiltinEncoder
    from bonito.cache.semantic.provider_encoder import ProviderEncoder

    if embedding_model is None:
        return BuiltinEncoder()
    model = snap.catalog(org).models.get(embedding_model)
    return ProviderEncoder(model) if model is not None else None
