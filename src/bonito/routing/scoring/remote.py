"""Your own scorer over HTTP: `smart: {scorer: https://…}` on a route.

Bonito POSTs `{"prompt": "<latest user message>"}` and expects
`{"score": <number in [0, 1]>}` within `smart.scorer_timeout_s`. Any failure
(timeout, refused connection, non-2xx, a body without such a score) falls
back to the built-in scorer for that request, so a classifier outage never
fails a call. One pooled HTTP session per gateway process, opened on first use.
"""

from __future__ import annotations

import logging
import math
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger("bonito.routing")


def shown_name(url: str) -> str:
    """The scorer as a decision names it: scheme, host and path; no credentials or query (they may hold a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


class RemoteScorers:
    """Asks route-configured HTTP scorers; owns their connection pool."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def score(self, url: str, text: str, timeout_s: float) -> float | None:
        """The endpoint's score for `text`, or None when it did not give a valid one in time."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(url, json={"prompt": text},
                                          timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
                if resp.status >= 300:
                    raise ValueError(f"status {resp.status}")
                body = await resp.json(content_type=None)
            value = body.get("score") if isinstance(body, dict) else None
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or not 0 <= value <= 1:
                raise ValueError("no score in [0, 1] in the answer")
            return float(value)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            # the host only: a URL may carry a token in its path or query
            log.warning("smart scorer at %s failed (%s); using the built-in scorer",
                        urlsplit(url).netloc, type(exc).__name__ if not isinstance(exc, ValueError) else exc)
            return None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
