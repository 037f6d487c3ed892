"""Live observations per target (public model name): latency, time to first token, calls in flight.

Latency is an exponentially weighted moving average, so a target that slows
down (or recovers) is seen within a few calls. A target not observed for
`stale_s` counts as unknown again, which makes latency-ranked routes try it
once more instead of avoiding it forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

ALPHA = 0.3  # weight of the newest sample
STALE_S = 60.0


@dataclass(slots=True)
class TargetStats:
    in_flight: int = 0
    latency_ms: float | None = None  # whole answer (streams: until their last chunk)
    ttft_ms: float | None = None  # streams: until the first chunk
    samples: int = 0
    last_at: float = 0.0


class Observations:
    """Per-target statistics from this process's traffic; owned by the Router."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, alpha: float = ALPHA,
                 stale_s: float = STALE_S) -> None:
        self._clock = clock
        self.alpha = alpha
        self.stale_s = stale_s
        self._stats: dict[str, TargetStats] = {}

    def get(self, target: str) -> TargetStats:
        s = self._stats.get(target)
        if s is None:
            s = self._stats[target] = TargetStats()
        return s

    def started(self, target: str) -> None:
        self.get(target).in_flight += 1

    def released(self, target: str) -> None:
        s = self.get(target)
        s.in_flight = max(0, s.in_flight - 1)

    def latency(self, target: str, ms: float) -> None:
        s = self.get(target)
        s.latency_ms = ms if s.latency_ms is None else s.latency_ms + self.alpha * (ms - s.latency_ms)
        s.samples += 1
        s.last_at = self._clock()

    def ttft(self, target: str, ms: float) -> None:
        s = self.get(target)
        s.ttft_ms = ms if s.ttft_ms is None else s.ttft_ms + self.alpha * (ms - s.ttft_ms)

    def in_flight(self, target: str) -> int:
        s = self._stats.get(target)
        return 0 if s is None else s.in_flight

    def recent_latency(self, target: str) -> float | None:
        """The decaying average latency, or None when unknown or stale."""
        s = self._stats.get(target)
        if s is None or s.latency_ms is None or self._clock() - s.last_at > self.stale_s:
            return None
        return s.latency_ms

    def recent_ttft(self, target: str) -> float | None:
        s = self._stats.get(target)
        if s is None or s.ttft_ms is None or self._clock() - s.last_at > self.stale_s:
            return None
        return s.ttft_ms
