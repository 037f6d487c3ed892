"""The usage record: one per request, whatever happened to it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from random import getrandbits
from typing import Any


def new_id() -> str:
    """A 128-bit random hex id; uuid4 costs ~10x more and ids need uniqueness, not secrecy."""
    return f"{getrandbits(128):032x}"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class UsageRecord:
    """What one gateway request cost and how it went. `id` is unique per request;
    `request_id` is the response's `x-request-id` (clients may reuse theirs)."""

    request_id: str
    org_id: str
    key_id: str | None
    key_name: str | None
    model_requested: str | None
    model_used: str | None = None
    provider: str | None = None
    upstream_model: str | None = None
    endpoint: str = "chat"
    stream: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens: read from the provider's prompt cache
    cache_write_tokens: int = 0  # of prompt_tokens: written to it
    reasoning_tokens: int = 0  # of completion_tokens
    cost_usd: Decimal = Decimal(0)
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    status: int = 200
    error: str | None = None
    attempts: int = 0
    route: str | None = None
    decision: dict[str, Any] | None = None
    source: str = "shared_gateway"
    tags: dict[str, str] | None = None  # attribution (team, project, …): the org's listed metadata keys
    request_hash: str | None = None  # of the request body: identical requests share it
    cache: str | None = None  # "hit" | "semantic-hit" when answered from the cache
    cache_saved_usd: Decimal | None = None  # what a cache hit would have cost upstream
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=_now)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (for spooling and for the agent's usage push)."""
        d = asdict(self)
        d["cost_usd"] = str(self.cost_usd)
        if self.cache_saved_usd is not None:
            d["cache_saved_usd"] = str(self.cache_saved_usd)
        d["created_at"] = self.created_at.isoformat()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> UsageRecord:
        d = dict(d)
        d.pop("total_tokens", None)
        d["cost_usd"] = Decimal(str(d.get("cost_usd", "0")))
        if d.get("cache_saved_usd") is not None:
            d["cache_saved_usd"] = Decimal(str(d["cache_saved_usd"]))
        created = d.get("created_at")
        if isinstance(created, str):
            d["created_at"] = datetime.fromisoformat(created)
        return cls(**d)
