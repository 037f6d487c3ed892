"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<raw body>", sent with the timestamp.

    X-Bonito-Timestamp: 1735689600
    X-Bonito-Signature: sha256=<hex digest>

A receiver recomputes the digest with its secret and rejects old timestamps,
so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Bonito-Timestamp"
SIGNATURE_HEADER = "X-Bonito-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    ts = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}


def verify(secret: str, timestamp: str, signature: str, body: bytes, *, tolerance_s: float = 300,
           now: float | None = None) -> bool:
    """True when the signature matches and the timestamp is within `tolerance_s` of now."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)
