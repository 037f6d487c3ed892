"""The org token the agent presents: from `--token` / `BONITO_ORG_TOKEN`, or a file read again
whenever it changes (a rotated Kubernetes secret needs no restart)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger("bonito.agent")
RECHECK_S = 1.0


class OrgToken:
    def __init__(self, token: str | None = None, token_file: str | None = None) -> None:
        self._fixed = token.strip() if token else None
        self._file = Path(token_file) if token_file else None
        self._stamp: tuple[int, int, int] | None = None
        self._value: str | None = None
        self._checked = 0.0

    def __call__(self) -> str | None:
        """The current token (the file is looked at again at most every `RECHECK_S`)."""
        if self._file is None:
            return self._fixed
        now = time.monotonic()
        if now - self._checked >= RECHECK_S or self._value is None:
            self._checked = now
            self._reload()
        return self._value

    def _reload(self) -> None:
        assert self._file is not None
        try:
            st = os.stat(self._file)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return
            value = self._file.read_text().strip()
        except OSError as exc:
            if self._value is not None or self._stamp is None:
                log.error("token file %s unreadable (%s)", self._file, exc.strerror or type(exc).__name__)
            self._stamp = (0, 0, 0)
            return
        if self._stamp is not None and value != self._value:
            log.info("token file %s changed; using the new token", self._file)
        self._stamp, self._value = stamp, value or None
