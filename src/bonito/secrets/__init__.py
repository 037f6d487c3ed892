"""Encrypted credential storage: AES-256-GCM under a master key, or HashiCorp Vault KV v2."""

from bonito.secrets.backend import SecretBackend, SecretError, secret_backend_from_env
from bonito.secrets.keyring import Keyring, load_keyring

__all__ = ["Keyring", "SecretBackend", "SecretError", "load_keyring", "secret_backend_from_env"]
