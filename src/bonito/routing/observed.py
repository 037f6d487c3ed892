"""Live observations per target (an org's model): latency, time to first token, calls in flight.

Kept per org and model name, so two orgs' models of the same name never see
each other's traffic (one org's slow upstream must not steer another's routes).

Latency is an exponentially weighted moving average, so a target that slows
down (or recovers) is seen within a few calls. A target not observed for
`stale_s` counts as unknown again, which makes latency-ranked routes try it
once more instead of avoiding it forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bonito.snapshot import ModelEntry

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
        self._stats: dict[tuple[str, str], TargetStats] = {}  # by (org, model name)

    def get(self, target: ModelEntry) -> TargetStats:
        key = (target.org_id, target.name)
        s = self._stats.get(key)
        if s is None:
            s = self._stats[key] = TargetStats()
        return s

    def _known(self, target: ModelEntry) -> TargetStats | None:
        return self._stats.get((target.org_id, target.name))

    def started(self, target: ModelEntry) -> None:
        self.get(target).in_flight += 1

    def released(self, target: ModelEntry) -> None:
        s = self.get(target)
        s.in_flight = max(0, s.in_flight - 1)

    def latency(self, target: ModelEntry, ms: float) -> None:
        s = self.get(target)
        s.latency_ms = ms if s.latency_ms is None else s.latency_ms + self.alpha * (ms - s.latency_ms)
        s.samples += 1
        s.last_at = self._clock()

    def ttft(self, target: ModelEntry, ms: float) -> None:
        s = self.get(target)
        s.ttft_ms = ms if s.ttft_ms is None else s.ttft_ms + self.alpha * (ms - s.ttft_ms)

    def in_flight(self, target: ModelEntry) -> int:
        s = self._known(target)
        return 0 if s is None else s.in_flight

    def recent_latency(self, target: ModelEntry) -> float | None:
        """The decaying average latency, or None when unknown or stale."""
        s = self._known(target)
        if s is None or s.latency_ms is None or self._clock() - s.last_at > self.stale_s:
            return None
        return s.latency_ms

    def recent_ttft(self, target: ModelEntry) -> float | None:
        s = self._known(target)
        if s is None or s.ttft_ms is None or self._clock() - s.last_at > self.stale_s:
            return None
        return s.ttft_ms
