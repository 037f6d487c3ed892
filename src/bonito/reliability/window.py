"""Calls and failures in a sliding time window, for a breaker's error-rate rule.

The window is split into `BUCKETS` buckets of `window_s / BUCKETS` seconds,
kept in two fixed lists: counting a call is an index and an increment, with
no allocation. A call counts for between 90% and 100% of `window_s` (it leaves
with its bucket).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BUCKETS = 10


@dataclass(slots=True)
class ErrorWindow:
    window_s: float
    epoch: int = 0  # the newest bucket's number: clock // bucket width
    calls: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    failures: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add(self, now: float, failed: bool) -> None:
        """Count one finished call."""
        i = self._advance(now)
        self.calls[i] += 1
        if failed:
            self.failures[i] += 1

    def trips(self, now: float, error_rate: float, min_requests: int) -> bool:
        """At least `min_requests` calls in the window, and at least `error_rate` of them failed?"""
        self._advance(now)
        calls = sum(self.calls)
        return calls >= min_requests and sum(self.failures) / calls >= error_rate

    def clear(self) -> None:
        for i in range(BUCKETS):
            self.calls[i] = self.failures[i] = 0

    def _advance(self, now: float) -> int:
        """Empty the buckets the clock has moved past; the newest bucket's index."""
        epoch = int(now // (self.window_s / BUCKETS))
        gap = epoch - self.epoch
        if gap > 0:  # a clock that steps back keeps counting into the newest bucket
            for e in range(self.epoch + 1, self.epoch + 1 + min(gap, BUCKETS)):
                self.calls[e % BUCKETS] = self.failures[e % BUCKETS] = 0
            self.epoch = epoch
        return self.epoch % BUCKETS
