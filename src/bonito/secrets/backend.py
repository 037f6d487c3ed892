"""Where provider credentials live: a small protocol and the local AES-GCM implementation.

A backend turns a secret into a reference that is safe to store in the
database (`put`) and back (`get`). The local backend's reference *is* the
ciphertext; the Vault backend's reference is a path and version.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bonito.secrets.keyring import Keyring, SecretError, UnknownKeyError, load_keyring

__all__ = ["LocalSecretBackend", "SecretBackend", "SecretError", "secret_backend_from_env"]


class SecretBackend(Protocol):
    name: str

    async def put(self, name: str, plaintext: bytes) -> str:
        """Store a secret under a stable name (e.g. `providers/<id>`); returns the reference to keep."""
        ...

    async def get(self, name: str, ref: str) -> bytes:
        """The secret a reference stands for."""
        ...

    async def delete(self, name: str, ref: str) -> None:
        """Forget a secret (best effort)."""
        ...


class LocalSecretBackend:
    """AES-256-GCM under the master key; the ciphertext is bound to its name (AAD)."""

    name = "local"

    def __init__(self, keyring: Keyring, reload: Callable[[], Keyring] | None = None) -> None:
        self.keyring = keyring
        self._reload = reload

    async def put(self, name: str, plaintext: bytes) -> str:
        return self.keyring.seal(plaintext, name)

    async def get(self, name: str, ref: str) -> bytes:
        try:
            return self.keyring.open(ref, name)
        except UnknownKeyError:
            if self._reload is None:
                raise
            # `bonito secrets rotate-master-key` ran since we loaded the key file
            self.keyring = self._reload()
            return self.keyring.open(ref, name)

    async def delete(self, name: str, ref: str) -> None:
        return None


def secret_backend_from_env(data_dir: Path, master_key: str | None) -> SecretBackend:
    """`BONITO_SECRETS_BACKEND=vault` (with VAULT_ADDR, VAULT_TOKEN) selects Vault; default local."""
    kind = os.environ.get("BONITO_SECRETS_BACKEND", "local").strip().lower()
    if kind == "vault":
        from bonito.secrets.vault import VaultSecretBackend

        return VaultSecretBackend(
            url=os.environ.get("VAULT_ADDR", "http://127.0.0.1:8200"),
            token=os.environ.get("VAULT_TOKEN", ""),
            mount=os.environ.get("BONITO_VAULT_MOUNT", "secret"),
            prefix=os.environ.get("BONITO_VAULT_PREFIX", "bonito"),
        )
    if kind != "local":
        raise SecretError(f"unknown BONITO_SECRETS_BACKEND '{kind}' (expected local or vault)")
    return LocalSecretBackend(load_keyring(data_dir, master_key), lambda: load_keyring(data_dir, master_key))
