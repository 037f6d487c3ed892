"""HashiCorp Vault KV version 2 as the secrets backend (through hvac).

The database keeps `vault:<path>#<version>`; the secret itself lives only in
Vault. hvac is synchronous, so calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from bonito.secrets.keyring import SecretError

REF_PREFIX = "vault:"


class VaultSecretBackend:
    name = "vault"

    def __init__(self, url: str, token: str, mount: str = "secret", prefix: str = "bonito",
                 timeout_s: float = 10.0) -> None:
        import hvac

        self._client: Any = hvac.Client(url=url, token=token, timeout=timeout_s)
        self._mount = mount
        self._prefix = prefix.strip("/")

    def _path(self, name: str) -> str:
        return f"{self._prefix}/{name}" if self._prefix else name

    async def put(self, name: str, plaintext: bytes) -> str:
        path = self._path(name)
        secret = {"value_b64": base64.b64encode(plaintext).decode()}
        try:
            resp = await asyncio.to_thread(
                self._client.secrets.kv.v2.create_or_update_secret, path=path, secret=secret,
                mount_point=self._mount)
        except Exception as exc:
            raise SecretError(f"vault write failed ({type(exc).__name__})") from None
        version = (resp or {}).get("data", {}).get("version", "")
        return f"{REF_PREFIX}{path}#{version}"

    async def get(self, name: str, ref: str) -> bytes:
        if not ref.startswith(REF_PREFIX):
            raise SecretError("not a vault reference")
        path, _, version = ref[len(REF_PREFIX):].partition("#")
        try:
            resp = await asyncio.to_thread(
                self._client.secrets.kv.v2.read_secret_version, path=path,
                version=int(version) if version.isdigit() else None, mount_point=self._mount,
                raise_on_deleted_version=True)
            value = resp["data"]["data"]["value_b64"]
            return base64.b64decode(value)
        except SecretError:
            raise
        except Exception as exc:
            raise SecretError(f"vault read failed ({type(exc).__name__})") from None

    async def delete(self, name: str, ref: str) -> None:
        if not ref.startswith(REF_PREFIX):
            return
        path = ref[len(REF_PREFIX):].partition("#")[0]
        try:
            await asyncio.to_thread(self._client.secrets.kv.v2.delete_metadata_and_all_versions,
                                    path=path, mount_point=self._mount)
        except Exception:
            return
