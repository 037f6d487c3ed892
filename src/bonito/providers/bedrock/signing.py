"""AWS SigV4 request signing with botocore's signer, and where the credentials come from.

Credentials are taken from the provider config when it names them; otherwise
botocore's standard chain (environment, `profile`, shared files, SSO, web
identity, container and instance metadata) is resolved once, off the event
loop. Refreshable credentials are refreshed off the event loop too, so the
only per-request cost is the HMAC work of signing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials

from bonito.config.schema import BedrockProviderConfig
from bonito.providers.base import UpstreamError


class MissingCredentials(UpstreamError):
    """No AWS credentials could be found for the provider."""


class SigV4Signer:
    """Signs requests for one provider account; shared by all its requests."""

    def __init__(self, config: BedrockProviderConfig) -> None:
        self.region = config.region
        self._profile = config.profile
        self._credentials: Credentials | None = None
        if config.access_key_id and config.secret_access_key:
            self._credentials = Credentials(config.access_key_id, config.secret_access_key, config.session_token)
        elif config.access_key_id or config.secret_access_key:
            raise ValueError("set both access_key_id and secret_access_key, or neither")
        self._lock = asyncio.Lock()

    async def frozen_credentials(self) -> ReadOnlyCredentials:
        """Current credentials; resolves the default chain on first use and refreshes off-loop."""
        creds = self._credentials
        if creds is None:
            async with self._lock:
                if self._credentials is None:
                    self._credentials = await asyncio.to_thread(self._resolve_chain)
                creds = self._credentials
        assert creds is not None
        if isinstance(creds, RefreshableCredentials) and creds.refresh_needed():
            return await asyncio.to_thread(creds.get_frozen_credentials)
        return creds.get_frozen_credentials()

    def _resolve_chain(self) -> Credentials:
        # Imported here: building a botocore session is only needed without explicit keys.
        import botocore.session

        session = botocore.session.Session(profile=self._profile)
        creds = session.get_credentials()
        if creds is None:
            raise MissingCredentials(
                502, "no AWS credentials found: set access_key_id/secret_access_key or profile in the provider "
                     "config, or provide them through the standard AWS environment",
                type="upstream_error", code="missing_credentials")
        return creds  # type: ignore[no-any-return]

    async def sign(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
                   *, service: str = "bedrock") -> dict[str, str]:
        """Headers for the request with SigV4 `Authorization`, `X-Amz-Date` (and security token) added.

        `url` must be exactly what goes on the wire: botocore encodes its path once
        more for the canonical request, as AWS does for every service but S3.
        """
        creds = await self.frozen_credentials()
        request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
        SigV4Auth(creds, service, self.region).add_auth(request)
        return dict(request.headers.items())
