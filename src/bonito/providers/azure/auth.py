"""Entra ID (Azure AD) client-credentials tokens for Azure OpenAI, via azure-identity.

azure-identity acquires, caches and refreshes the token; this wrapper keeps
the current `Authorization` header in hand so the hot path costs one clock
read, and only calls into azure-identity when the token nears its refresh time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from azure.core.credentials import AccessTokenInfo
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity.aio import ClientSecretCredential

from bonito.config.schema import AzureProviderConfig
from bonito.providers.base import UpstreamError

SCOPE = "https://cognitiveservices.azure.com/.default"
# Ask azure-identity again this long before expiry (it refreshes 300 s ahead itself).
_REFRESH_MARGIN_S = 300


class EntraToken:
    """Bearer tokens for one service principal; safe to share by all requests of a provider.

    `credential_options` go to azure-identity's `ClientSecretCredential` (e.g.
    `connection_verify=<CA bundle>` for a TLS fake token endpoint in tests).
    """

    def __init__(self, config: AzureProviderConfig, **credential_options: Any) -> None:
        if not (config.tenant_id and config.client_id and config.client_secret):
            raise ValueError("Entra ID needs tenant_id, client_id and client_secret")
        self._tenant_id = config.tenant_id
        self._client_id = config.client_id
        self._client_secret = config.client_secret
        # The gateway retries and fails over itself: a token fetch should fail fast, not back off for seconds.
        self._options: dict[str, Any] = {"retry_total": 2, "retry_backoff_factor": 0.2, **credential_options}
        if config.authority_host:
            self._options.setdefault("authority", config.authority_host)
        self._credential: ClientSecretCredential | None = None
        self._token: AccessTokenInfo | None = None
        self._header = ""
        self._lock: asyncio.Lock | None = None

    async def authorization(self) -> str:
        """The `Authorization` header value, fetching or refreshing the token when due."""
        if self._fresh():
            return self._header
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one token request at a time, however many callers wait
            if not self._fresh():
                token = await self._fetch()
                self._token = token
                self._header = f"Bearer {token.token}"
        return self._header

    def _fresh(self) -> bool:
        token = self._token
        if token is None:
            return False
        now = time.time()
        if token.refresh_on is not None and now >= token.refresh_on:
            return False
        return token.expires_on - now > _REFRESH_MARGIN_S

    async def _fetch(self) -> AccessTokenInfo:
        if self._credential is None:
            self._credential = ClientSecretCredential(
                self._tenant_id, self._client_id, self._client_secret, **self._options)
        try:
            return await self._credential.get_token_info(SCOPE)
        except ClientAuthenticationError as exc:
            # The provider's own credentials are wrong: not the client's fault, worth failing over.
            raise UpstreamError(502, f"Entra ID token request failed: {_first_line(exc.message)}",
                                type="upstream_auth_error", code="entra_token_failed") from exc
        except (AzureError, ValueError) as exc:
            raise UpstreamError(502, f"Entra ID token request failed ({type(exc).__name__})",
                                kind="connect", type="upstream_auth_error",
                                code="entra_token_failed") from exc

    async def aclose(self) -> None:
        """Close azure-identity's HTTP session."""
        if self._credential is not None:
            await self._credential.close()
            self._credential = None


def _first_line(message: Any) -> str:
    text = str(message or "authentication failed").strip()
    return text.splitlines()[0][:300] if text else "authentication failed"
