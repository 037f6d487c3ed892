"""How to start each server the benchmark measures, and their config files.

- the fake upstream (``fake_upstream.py``),
- Bonito (``bonito serve --config bonito.yaml --workers 1``), optionally with
  ``redis_url`` pointing at a temporary ``redis-server``,
- LiteLLM's proxy, installed on first use into ``bench/.litellm-venv``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
MODEL = "bench-model"
UPSTREAM_KEY = "upstream-key"


@dataclass
class ServerSpec:
    """Everything needed to start one server and send it requests."""

    name: str
    argv: list[str]
    port: int
    health_path: str
    key: str
    model: str = MODEL
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    health_timeout_s: float = 30.0

    def target(self) -> dict[str, object]:
        """The load generator's description of this server."""
        return {
            "name": self.name,
            "host": "127.0.0.1",
            "port": self.port,
            "key": self.key,
            "model": self.model,
        }

    def full_env(self) -> dict[str, str]:
        """The process environment plus this server's variables."""
        return {**os.environ, **self.env}


def upstream_spec(port: int) -> ServerSpec:
    """The fake upstream; clients reach it directly with the upstream key."""
    argv = [
        sys.executable,
        str(BENCH_DIR / "fake_upstream.py"),
        "--port",
        str(port),
        "--api-key",
        UPSTREAM_KEY,
    ]
    return ServerSpec("direct", argv, port, "/health", UPSTREAM_KEY, health_timeout_s=15)


def _bonito_command() -> tuple[list[str], dict[str, str]]:
    """The ``bonito`` console script of this interpreter, or an import of its entry point."""
    script = Path(sys.executable).parent / "bonito"
    if script.exists():
        return [str(script)], {}
    env = {} if importlib.util.find_spec("bonito") else {"PYTHONPATH": str(REPO_DIR / "src")}
    code = "import sys; from bonito.cli.main import main; sys.exit(main())"
    return [sys.executable, "-c", code], env


def bonito_spec(
    name: str, workdir: Path, port: int, upstream_port: int, redis_url: str | None = None
) -> ServerSpec:
    """Bonito with one worker, config-as-code, in its own working directory."""
    workdir.mkdir(parents=True, exist_ok=True)
    key = "bn-bench-" + secrets.token_hex(16)
    lines = [
        "version: 1",
        *([f"redis_url: {json.dumps(redis_url)}"] if redis_url else []),
        "providers:",
        "  fake:",
        "    type: openai",
        f"    base_url: http://127.0.0.1:{upstream_port}/v1",
        f"    api_key: {UPSTREAM_KEY}",
        "models:",
        f"  {MODEL}:",
        "    provider: fake",
        f"    model: {MODEL}",
        "    input_cost_per_mtok: 0.15",
        "    output_cost_per_mtok: 0.60",
        "keys:",
        "  - name: bench",
        f"    key: {key}",
        "    requests_per_minute: 10000000",
    ]
    config = workdir / "bonito.yaml"
    config.write_text("\n".join(lines) + "\n")
    command, env = _bonito_command()
    argv = [
        *command,
        "serve",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return ServerSpec(name, argv, port, "/health", key, cwd=workdir, env=env, health_timeout_s=30)


def litellm_spec(workdir: Path, port: int, upstream_port: int, venv: Path) -> ServerSpec:
    """LiteLLM's proxy, one worker, no database, an ``openai/`` model at the fake upstream."""
    workdir.mkdir(parents=True, exist_ok=True)
    key = "sk-bench-" + secrets.token_hex(16)
    config = workdir / "litellm.yaml"
    config.write_text(
        "\n".join(
            [
                "model_list:",
                f"  - model_name: {MODEL}",
                "    litellm_params:",
                f"      model: openai/{MODEL}",
                f"      api_base: http://127.0.0.1:{upstream_port}/v1",
                f"      api_key: {UPSTREAM_KEY}",
                "general_settings:",
                f"  master_key: {key}",
            ]
        )
        + "\n"
    )
    argv = [
        str(venv / "bin" / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    # Offline machine: use the bundled model price map instead of fetching it at start.
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}
    return ServerSpec(
        "litellm", argv, port, "/health/liveliness", key, cwd=workdir, env=env, health_timeout_s=120
    )


def ensure_litellm(venv: Path, timeout_s: float, log_path: Path) -> tuple[Path | None, str]:
    """Create the venv and install ``litellm[proxy]`` once; (venv, "") or (None, why not)."""
    marker = venv / ".bench-installed"
    if marker.exists() and (venv / "bin" / "litellm").exists():
        return venv, ""
    print(f"installing litellm[proxy] into {venv} (first run only; log: {log_path})", file=sys.stderr)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "litellm[proxy]",
        ],
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        for step in steps:
            if step[1:3] == ["-m", "venv"] and (venv / "bin" / "python").exists():
                continue
            try:
                result = subprocess.run(
                    step, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return None, f"{' '.join(step[:4])}: {exc}"
            if result.returncode != 0:
                return None, f"{' '.join(step[:4])} exited {result.returncode} (see {log_path})"
    if not (venv / "bin" / "litellm").exists():
        return None, "litellm installed but has no `litellm` command"
    marker.write_text("ok\n")
    return venv, ""


def redis_argv(port: int, workdir: Path) -> list[str] | None:
    """A throwaway redis-server (no persistence) on port, or None when none is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    workdir.mkdir(parents=True, exist_ok=True)
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--daemonize",
        "no",
    ]
