"""Count a call's real usage before its response ends, so the client's next request sees it
on any replica: the last body message waits until the limiter has settled the call."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bonito.limits.base import RateDecision, RequestLimiter
    from bonito.usage.record import UsageRecord


class SettleOnEnd:
    """An ASGI `send` wrapper. A JSON answer is metered before it is sent, so it settles
    then; a stream is metered after its last chunk, so that message is held until
    `finish()` (called once the request is recorded) has settled it."""

    def __init__(self, send: Any, limiter: RequestLimiter, decision: RateDecision,
                 record: UsageRecord) -> None:
        self._send = send
        self._limiter = limiter
        self._decision = decision
        self._record = record
        self._held: dict[str, Any] | None = None

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            if self._record.stream:
                self._held = message
                return
            await self._limiter.settle(self._decision, self._record)
        await self._send(message)

    async def finish(self) -> None:
        """Settle (once) and release a held last message."""
        await self._limiter.settle(self._decision, self._record)
        held, self._held = self._held, None
        if held is not None:
            with contextlib.suppress(Exception):  # the client may have gone
                await self._send(held)
