"""The agent's state dir (default `./.bonito/agent/`): its id, the last good config, the spool.

Everything written here is private to the agent: the directory is 0700, files 0600, and the
config cache is replaced atomically (written beside, fsynced, renamed) so a crash never leaves
half a config.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

CONFIG_FILE = "config.json"
ETAG_FILE = "config.etag"
ID_FILE = "agent-id"


class StateDir:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o700)

    @property
    def spool_dir(self) -> Path:
        return self.path / "spool"

    def agent_id(self) -> str:
        """This agent's id: made once, then kept across restarts."""
        path = self.path / ID_FILE
        try:
            value = path.read_text().strip()
            if value:
                return value
        except FileNotFoundError:
            pass
        value = f"agent_{secrets.token_hex(8)}"
        write_private(path, value.encode())
        return value

    def cached_config(self) -> tuple[bytes, str | None] | None:
        """The last config the agent applied, with its ETag; None before the first."""
        try:
            body = (self.path / CONFIG_FILE).read_bytes()
        except FileNotFoundError:
            return None
        try:
            etag: str | None = (self.path / ETAG_FILE).read_text().strip() or None
        except FileNotFoundError:
            etag = None
        return body, etag

    def save_config(self, body: bytes, etag: str | None) -> None:
        write_private(self.path / CONFIG_FILE, body)
        write_private(self.path / ETAG_FILE, (etag or "").encode())


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`, readable by its owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
