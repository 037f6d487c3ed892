"""OAuth access tokens for Vertex AI from a service account (google-auth), cached.

google-auth signs the RS256 JWT assertion and exchanges it at the key's
`token_uri` (RFC 7523), but its refresh is blocking: it runs in a worker
thread, behind an asyncio lock so concurrent requests share one refresh. The
token is reused until shortly before it expires.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import google.auth
import urllib3
from google.auth import exceptions as gexc
from google.auth.credentials import Credentials
from google.auth.transport.urllib3 import Request
from google.oauth2 import service_account

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# Refresh this long before expiry, so no request leaves with a token about to lapse.
_REFRESH_MARGIN_S = 300.0


class CredentialsError(Exception):
    """Credentials that cannot give a token; `message` is meant for the operator.

    retryable: the token endpoint was unreachable or failed transiently (worth
    trying again), as opposed to a key that is wrong, disabled or unreadable.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class ServiceAccountTokenSource:
    """Access tokens for one service-account key (file or JSON text), or ADC when neither is set."""

    def __init__(self, *, service_account_file: str | None = None,
                 service_account_json: str | None = None, http_timeout_s: float = 30.0) -> None:
        self._file = service_account_file
        self._json = service_account_json
        self._credentials: Credentials | None = None
        self._request = Request(urllib3.PoolManager(timeout=urllib3.Timeout(connect=10.0, read=http_timeout_s)))
        self._lock = asyncio.Lock()
        self._token = ""
        self._refresh_at = 0.0  # time.monotonic() after which the token is renewed
        self.refreshes = 0  # how many tokens were fetched (observability and tests)

    async def token(self) -> str:
        """A valid access token, fetched or renewed only when needed."""
        if self._token and time.monotonic() < self._refresh_at:
            return self._token
        async with self._lock:
            # Another task may have refreshed while this one waited for the lock.
            if self._token and time.monotonic() < self._refresh_at:
                return self._token
            await asyncio.to_thread(self._refresh_blocking)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` (the upstream rejected it) so the next call fetches a new one."""
        if token == self._token:
            self._token, self._refresh_at = "", 0.0

    def _refresh_blocking(self) -> None:
        creds = self._credentials or self._load()
        self._credentials = creds
        try:
            creds.refresh(self._request)
        except gexc.RefreshError as exc:
            raise CredentialsError(_refresh_message(exc), retryable=bool(getattr(exc, "retryable", False))) \
                from exc
        except gexc.TransportError as exc:
            raise CredentialsError(f"could not reach the token endpoint: {exc}", retryable=True) from exc
        if not creds.token:
            raise CredentialsError("the token endpoint answered without an access token", retryable=True)
        lifetime = 3600.0
        if creds.expiry is not None:
            lifetime = (creds.expiry - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
        # Renew _REFRESH_MARGIN_S early, but never later than halfway through a short-lived token.
        ahead = max(lifetime - _REFRESH_MARGIN_S, lifetime / 2)
        self._token = str(creds.token)
        self._refresh_at = time.monotonic() + max(ahead, 0.0)
        self.refreshes += 1

    def _load(self) -> Credentials:
        if self._json is not None:
            return credentials_from_info(_parse_json(self._json, "service_account_json"))
        if self._file is not None:
            try:
                with open(self._file, encoding="utf-8") as fh:
                    text = fh.read()
            except FileNotFoundError as exc:
                raise CredentialsError(f"service_account_file not found: {self._file}") from exc
            except OSError as exc:
                raise CredentialsError(f"service_account_file cannot be read: {self._file} ({exc})") from exc
            return credentials_from_info(_parse_json(text, f"service_account_file {self._file}"))
        try:
            creds, _project = google.auth.default(scopes=list(SCOPES))
        except gexc.DefaultCredentialsError as exc:
            raise CredentialsError(
                "no service_account_file or service_account_json is configured and no "
                f"application default credentials were found ({exc})"
            ) from exc
        return creds  # type: ignore[no-any-return]


def credentials_from_info(info: dict[str, Any]) -> Credentials:
    """google-auth credentials for a parsed key; a service-account key is the expected case."""
    kind = info.get("type")
    try:
        if kind == "service_account":
            return service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
        # authorized_user, external_account (workload identity federation), impersonation…
        creds, _project = google.auth.load_credentials_from_dict(info, scopes=list(SCOPES))
        return creds  # type: ignore[no-any-return]
    except (ValueError, gexc.GoogleAuthError) as exc:
        raise CredentialsError(f"the service account key is not valid: {exc}") from exc


def _parse_json(text: str, where: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise CredentialsError(f"{where} is not valid JSON ({exc.args[0] if exc.args else exc})") from exc
    if not isinstance(info, dict):
        raise CredentialsError(f"{where} must hold a JSON object (a service account key)")
    return info


def _refresh_message(exc: gexc.RefreshError) -> str:
    detail = str(exc.args[0]) if exc.args else str(exc)
    if "invalid_grant" in detail:
        return ("the service account key was rejected (deleted, disabled or expired key, "
                f"or a wrong system clock): {detail}")
    return f"could not obtain an access token: {detail}"
