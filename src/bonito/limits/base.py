"""What a rate-limit check answers, and the protocol every limiter backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: float  # seconds until a slot frees up (the window's oldest hit expires)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """OpenAI's x-ratelimit-*-requests headers."""
        return [
            (b"x-ratelimit-limit-requests", str(self.limit).encode()),
            (b"x-ratelimit-remaining-requests", str(self.remaining).encode()),
            (b"x-ratelimit-reset-requests", format_reset(self.reset_s).encode()),
        ]


def format_reset(seconds: float) -> str:
    """Duration as OpenAI writes it in x-ratelimit-reset-*: '250ms', '12s', '1m0s'."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    whole = int(-(-seconds // 1))
    if whole < 60:
        return f"{whole}s"
    return f"{whole // 60}m{whole % 60}s"


class RequestLimiter(Protocol):
    async def hit(self, bucket: str, limit: int, window_s: float = 60.0) -> RateDecision:
        """Count one request against `bucket` unless it is already at `limit` in the window."""
        ...

    async def aclose(self) -> None: ...
