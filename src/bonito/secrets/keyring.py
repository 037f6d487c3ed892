"""The master key(s) and AES-256-GCM sealing.

The master key comes from `BONITO_MASTER_KEY` (64 hex chars or urlsafe base64
of 32 bytes; any other string is stretched with SHA-256), or from a 0600 key
file under the data dir, generated on first use. Ciphertexts name the key that
sealed them by fingerprint, so after a rotation the previous key (kept as
`BONITO_MASTER_KEY_PREVIOUS` or `master.key.previous`) can still open old ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "bnx1"
KEY_FILE = "master.key"
NEXT_FILE = "master.key.next"  # written before a rotation commits
PREVIOUS_FILE = "master.key.previous"


class SecretError(Exception):
    """A secret could not be sealed or opened (the message never contains it)."""


class UnknownKeyError(SecretError):
    """Sealed under a key this keyring does not hold (e.g. rotated since it was loaded)."""


def parse_key(text: str) -> bytes:
    """32 key bytes from hex, urlsafe/standard base64, or (last resort) SHA-256 of the text."""
    s = text.strip()
    if len(s) == 64:
        try:
            return binascii.unhexlify(s)
        except binascii.Error:
            pass
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            raw = decode(s + "=" * (-len(s) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    return hashlib.sha256(s.encode()).digest()


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"bonito-master-key:" + key).hexdigest()[:12]


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def write_key_file(path: Path, text: str) -> None:
    """Create (or replace) a key file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (text + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Keyring:
    """The current key (seals) and older keys (only open)."""

    current: bytes
    older: tuple[bytes, ...] = ()

    @property
    def current_id(self) -> str:
        return fingerprint(self.current)

    def _key(self, kid: str) -> bytes:
        for key in (self.current, *self.older):
            if fingerprint(key) == kid:
                return key
        raise UnknownKeyError("the key that sealed this secret is not available (was the master key changed?)")

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = secrets.token_bytes(12)
        ct = AESGCM(self.current).encrypt(nonce, plaintext, context.encode())
        return f"{PREFIX}:{self.current_id}:{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def open(self, token: str, context: str) -> bytes:
        try:
            prefix, kid, blob = token.split(":", 2)
            raw = base64.urlsafe_b64decode(blob)
        except (ValueError, binascii.Error):
            raise SecretError("not a sealed secret") from None
        if prefix != PREFIX or len(raw) < 28:
            raise SecretError("not a sealed secret")
        try:
            return AESGCM(self._key(kid)).decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag:
            raise SecretError("the secret failed authentication (wrong key or tampered data)") from None

    def sealed_with_current(self, token: str) -> bool:
        return token.startswith(f"{PREFIX}:{self.current_id}:")


def load_keyring(data_dir: Path, master_key: str | None, *, create: bool = True) -> Keyring:
    """The keyring for this install: env key or key file (created 0600 when missing)."""
    older: list[bytes] = []
    prev_env = os.environ.get("BONITO_MASTER_KEY_PREVIOUS")
    if prev_env:
        older.append(parse_key(prev_env))
    for name in (NEXT_FILE, PREVIOUS_FILE):
        p = data_dir / name
        if p.exists():
            older.append(parse_key(p.read_text()))
    if master_key:
        return Keyring(parse_key(master_key), tuple(older))
    path = data_dir / KEY_FILE
    if not path.exists():
        if not create:
            raise SecretError(f"no master key: set BONITO_MASTER_KEY or create {path}")
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it first
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(new_key_text() + "\n")
    text = ""
    for _ in range(50):  # a concurrent creator may not have written yet
        text = path.read_text().strip()
        if text:
            break
        time.sleep(0.01)
    return Keyring(parse_key(text), tuple(older))
