"""Full mode's cache settings: `BONITO_CACHE`, the `cache:` section of bonito.yaml as JSON."""

from __future__ import annotations

import orjson
from pydantic import ValidationError

from bonito.config.schema import CacheConfig


class CacheSettingsError(ValueError):
    """BONITO_CACHE is not a valid `cache:` section; the message names the field."""


def cache_from_env(raw: str | None) -> CacheConfig | None:
    """The cache config from BONITO_CACHE's JSON, or None (off) when unset or empty."""
    if not raw or not raw.strip():
        return None
    try:
        cfg = CacheConfig.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise CacheSettingsError(f"BONITO_CACHE is not valid JSON: {exc}") from None
    except ValidationError as exc:
        where = "; ".join(f"cache.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise CacheSettingsError(f"BONITO_CACHE: {where}") from None
    return cfg if cfg.on else None
