"""Choose the limit backend: Redis when a URL is configured, else this process's memory.
(redis-py is imported only when Redis is used.)"""

from __future__ import annotations

from urllib.parse import urlsplit

from bonito.limits.base import LimitBackend
from bonito.limits.memory import MemoryBackend


def backend_for(redis_url: str | None, pool_size: int = 20) -> LimitBackend:
    if redis_url:
        from bonito.limits.redis_backend import RedisBackend

        return RedisBackend(redis_url, pool_size)
    return MemoryBackend()


def backend_identity(backend: LimitBackend) -> tuple[str | None, int]:
    """(redis URL, pool size) a backend was built for; (None, 0) for memory."""
    url = getattr(backend, "url", None)
    return (url, backend.pool_size) if url else (None, 0)  # type: ignore[attr-defined]


def redacted(url: str) -> str:
    """A Redis URL without its password, for logs."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
