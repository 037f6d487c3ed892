"""Passwords (argon2id), access tokens (short-lived JWT) and refresh tokens (opaque, hashed at rest).

Hashing is CPU-bound, so it runs in a worker thread: the gateway shares this
event loop and must not stall behind a login.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ACCESS_TTL_S = 15 * 60
REFRESH_TTL_S = 30 * 24 * 3600
_ALG = "HS256"

# OWASP's argon2id baseline (19 MiB, 2 passes): strong, and ~20 ms on a small core.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both cases take the same time."""
    return _hasher.hash("bonito-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True if `password` matches `stored`; with `stored=None` spends the same time and says False."""
    return await asyncio.to_thread(_verify, stored, password)


def hash_token(token: str) -> str:
    """SHA-256 hex: how refresh tokens and keys are kept at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return "brt_" + secrets.token_urlsafe(32)


def jwt_secret_from(master: bytes) -> bytes:
    """The signing key every replica derives from the shared master key."""
    return hmac.new(master, b"bonito/jwt/v1", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    org_id: str


class TokenError(Exception):
    """An access token that is missing, malformed, forged or expired."""


class TokenIssuer:
    def __init__(self, secret: bytes, ttl_s: int = ACCESS_TTL_S) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, user_id: str, org_id: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"sub": user_id, "org": org_id, "typ": "access", "iat": now,
                                  "exp": now + self.ttl_s, "jti": secrets.token_hex(8)}
        return jwt.encode(claims, self._secret, algorithm=_ALG)

    def verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[_ALG],
                                options={"require": ["exp", "sub", "org", "typ"]})
        except jwt.PyJWTError as exc:
            raise TokenError(type(exc).__name__) from None
        if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str) \
                or not isinstance(claims.get("org"), str):
            raise TokenError("wrong token type")
        return AccessClaims(claims["sub"], claims["org"])
