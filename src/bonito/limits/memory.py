"""In-process sliding-window request limiter: exact for one process."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from bonito.limits.base import RateDecision


class MemoryRequestLimiter:
    """A sliding log per bucket: a request is allowed while fewer than `limit`
    requests were allowed in the last `window_s` seconds. Buckets idle for a
    whole window are dropped, so memory follows active keys, not traffic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._logs: dict[str, deque[float]] = {}
        self._last_sweep = clock()

    async def hit(self, bucket: str, limit: int, window_s: float = 60.0) -> RateDecision:
        return self.hit_now(bucket, limit, window_s)

    def hit_now(self, bucket: str, limit: int, window_s: float = 60.0) -> RateDecision:
        now = self._clock()
        log = self._logs.get(bucket)
        if log is None:
            log = self._logs[bucket] = deque()
        horizon = now - window_s
        while log and log[0] <= horizon:
            log.popleft()
        if now - self._last_sweep > window_s:
            self._sweep(horizon)
            self._last_sweep = now
        if len(log) >= limit:
            reset = log[0] + window_s - now
            return RateDecision(False, limit, 0, max(reset, 0.001))
        log.append(now)
        reset = log[0] + window_s - now
        return RateDecision(True, limit, limit - len(log), reset)

    def _sweep(self, horizon: float) -> None:
        for bucket in [b for b, log in self._logs.items() if not log or log[-1] <= horizon]:
            del self._logs[bucket]

    async def aclose(self) -> None:
        self._logs.clear()
