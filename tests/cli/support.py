"""Run the installed `bonito` as a user does: a subprocess in a temp HOME and XDG_CONFIG_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BONITO = str(Path(sys.executable).parent / "bonito")


@dataclass
class Cli:
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.home / "xdg" / "bonito"

    def environ(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("BONITO_") and k not in ("NO_COLOR", "XDG_CONFIG_HOME")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / "xdg"), COLUMNS="200", **self.env)
        env.update(extra)
        return env

    def run(self, *args: str, input: str | None = None, timeout: float = 60, **env: str
            ) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([BONITO, *args], input=input, capture_output=True, text=True, timeout=timeout,
                             env=self.environ(**env), cwd=self.home)
        assert "Traceback" not in out.stderr, out.stderr
        return out

    def ok(self, *args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        out = self.run(*args, input=input, **env)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        return out

    def json(self, *args: str, input: str | None = None, **env: str) -> Any:
        """A --json command: exactly one JSON document on stdout."""
        return json.loads(self.ok(*args, "--json", input=input, **env).stdout)

    def fails(self, code: int, *args: str, input: str | None = None, **env: str
              ) -> subprocess.CompletedProcess[str]:
        out = self.run(*args, input=input, **env)
        assert out.returncode == code, (args, out.returncode, out.stdout, out.stderr)
        assert out.stderr.strip(), "a failure says what was wrong on stderr"
        return out
