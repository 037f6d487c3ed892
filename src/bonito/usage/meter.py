"""The token breakdown of an OpenAI-shaped `usage` object, as the usage record keeps it.

Every adapter answers OpenAI's usage: cache reads in `prompt_tokens_details.cached_tokens`,
cache writes (Anthropic, Bedrock) in `prompt_tokens_details.cache_creation_tokens`, reasoning
in `completion_tokens_details.reasoning_tokens`; all of them already counted in
`prompt_tokens` / `completion_tokens`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bonito.usage.record import UsageRecord


def _count(details: Any, name: str) -> int:
    if not isinstance(details, Mapping):
        return 0
    v = details.get(name)
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


def read_token_details(record: UsageRecord, usage: Mapping[str, Any]) -> None:
    """Fill the record's cached, cache-write and reasoning counts from `usage`."""
    prompt = usage.get("prompt_tokens_details")
    record.cached_tokens = _count(prompt, "cached_tokens")
    record.cache_write_tokens = _count(prompt, "cache_creation_tokens")
    record.reasoning_tokens = _count(usage.get("completion_tokens_details"), "reasoning_tokens")
