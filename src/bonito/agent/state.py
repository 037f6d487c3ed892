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

    def adopt_legacy_spool(self) -> int:
        """Records an earlier agent version left in its own spool format (numbered segments and an
        `ack` file: `<segment> <offset>` delivered so far), renamed into the usage spool's format so
        that they are delivered, oldest first, before anything newer; the number adopted."""
        spool = self.spool_dir
        try:
            seg, off = (int(v) for v in (spool / "ack").read_text().split())
        except (FileNotFoundError, ValueError):
            seg, off = 0, 0
        adopted = 0
        for path in sorted(spool.glob("[0-9]*.jsonl")):
            n = int(path.stem) if path.stem.isdigit() else -1
            if n < seg:
                path.unlink()  # wholly delivered, or not a segment of ours
                continue
            data = path.read_bytes()[off if n == seg else 0:]
            target = spool / f"usage-{n:020d}-0.jsonl"  # sorts before every segment named by its time
            write_private(target, data)
            path.unlink()
            adopted += data.count(b"\n")
        (spool / "ack").unlink(missing_ok=True)
        return adopted

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
