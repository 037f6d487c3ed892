"""Signed webhook delivery with a few retries."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from bonito.alerts.signing import signed_headers

ATTEMPTS = 3


async def post_webhook(session: aiohttp.ClientSession, url: str, secret: str, payload: dict[str, Any],
                       event: str, *, attempts: int = ATTEMPTS) -> None:
    """POST the payload signed with `secret`; retries 5xx and network errors, raises at the end."""
    body = orjson.dumps(payload)
    last: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(0.5 * 2 ** (attempt - 1))
        headers = {"Content-Type": "application/json", "User-Agent": "bonito-alerts/1",
                   "X-Bonito-Event": event, **signed_headers(secret, body)}
        try:
            async with session.post(url, data=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status < 300:
                    return
                last = RuntimeError(f"webhook answered {resp.status}")
                if resp.status < 500 and resp.status != 429:
                    break
        except (aiohttp.ClientError, TimeoutError) as exc:
            last = exc
    raise RuntimeError(f"webhook delivery to {url} failed: {last}")
