"""When and how long to wait before trying an upstream again."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring the upstream's Retry-After."""

    base_s: float = 0.1
    cap_s: float = 4.0
    max_retry_after_s: float = 10.0  # a longer Retry-After ends retrying on this target

    def delay(self, attempt: int, retry_after_s: float | None) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based); None = do not retry."""
        if retry_after_s is not None:
            return retry_after_s if retry_after_s <= self.max_retry_after_s else None
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))
