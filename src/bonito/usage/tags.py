"""Attribution tags: which metadata a request's usage record keeps, and whether a tag scope matches.

A request's tags are its key's defaults overlaid by the request's own metadata (the
`x-bonito-metadata` header's JSON object under the body's `metadata` object): of those,
only the keys its org lists (`tags:`) and only string values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from bonito.snapshot.model import TagPairs

MAX_VALUE_CHARS = 200


def request_tags(defaults: TagPairs, listed: frozenset[str], metadata: Mapping[str, Any]) -> dict[str, str] | None:
    """The tags a request's usage record carries (None: none). `metadata` is the request's merged
    metadata (header under body)."""
    tags = dict(defaults)
    if listed and metadata:
        _keep(tags, metadata, listed)
    return tags or None


def _keep(into: dict[str, str], meta: Mapping[str, Any], listed: frozenset[str]) -> None:
    for k, v in meta.items():
        if k in listed and isinstance(v, str) and v:
            into[k] = v[:MAX_VALUE_CHARS]


def matches(scope: Mapping[str, str] | None, tags: Mapping[str, str] | None) -> bool:
    """A tag scope (e.g. {"team": "data"}) holds when the request carries every one of its values."""
    if not scope:
        return True
    return tags is not None and all(tags.get(k) == v for k, v in scope.items())


def pairs(tags: Mapping[str, str] | None) -> TagPairs:
    return tuple(sorted(tags.items())) if tags else ()


def tag_id(scope: Iterable[tuple[str, str]]) -> str:
    """A short stable name for a tag scope (in ledgers and unique budget scopes)."""
    return hashlib.sha256(orjson.dumps(sorted(scope))).hexdigest()[:10]


def label(scope: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(scope.items()))
