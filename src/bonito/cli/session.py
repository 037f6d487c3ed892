"""The saved session: one file per profile under $XDG_CONFIG_HOME/bonito/ (directory 0700, files 0600).

A session holds the server's URL, the email, the org and the two tokens; never a password.
`BONITO_URL` and `BONITO_TOKEN` (an access token) take precedence over it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
_PROFILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Session:
    url: str
    email: str = ""
    org_id: str = ""
    access_token: str = ""
    refresh_token: str = ""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "bonito"


def session_path(profile: str) -> Path:
    if not _PROFILE.match(profile):
        from bonito.cli.output import usage_error

        raise usage_error(f"--profile: {profile!r} is not a profile name (letters, digits, '.', '_', '-')")
    return config_dir() / "sessions" / f"{profile}.json"


def load(profile: str) -> Session | None:
    path = session_path(profile)
    try:
        data = json.loads(path.read_text())
        return Session(**{k: str(data.get(k) or "") for k in Session.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def save(profile: str, session: Session) -> Path:
    """Write atomically with 0600 from the start (never a moment where another user may read it)."""
    path = session_path(profile)
    path.parent.parent.parent.mkdir(parents=True, exist_ok=True)  # $XDG_CONFIG_HOME itself: the user's
    for d in (path.parent.parent, path.parent):
        d.mkdir(mode=0o700, exist_ok=True)
        d.chmod(0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(asdict(session), indent=2).encode())
    finally:
        os.close(fd)
    tmp.replace(path)
    return path


def forget(profile: str) -> bool:
    try:
        session_path(profile).unlink()
        return True
    except FileNotFoundError:
        return False


def token_expires_soon(token: str, margin_s: float = 30.0) -> bool:
    """Whether a JWT access token's `exp` is near (read without verifying: the server verifies)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) - margin_s < time.time()
    except (IndexError, ValueError, KeyError, TypeError):
        return False
