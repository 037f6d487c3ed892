"""What `bonito serve` and `bonito agent` do alike as ASGI servers: the lifespan protocol and the
collector's tuning once started."""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any


async def lifespan(receive: Any, send: Any, startup: Callable[[], Awaitable[None]],
                   shutdown: Callable[[], Awaitable[None]], log: logging.Logger) -> None:
    """Answer the ASGI lifespan messages: a failed start is logged and reported, so the server exits."""
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            try:
                await startup()
            except Exception as exc:
                log.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


def tune_gc() -> None:
    """Fewer, cheaper collections: usage records live ~0.2–0.5 s in a writer's buffer, long enough
    to be promoted and rescanned by the default thresholds; modules and the snapshot never die."""
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
