"""Argument handling (Typer's CliRunner and `main()` in-process), offline commands, completion and docs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bonito.cli import session as sessions
from bonito.cli.main import app, main
from bonito.routing.complexity import complexity  # what the gateway scores with

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _commands(group: typer.main.TyperGroup | None = None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    group = group or typer.main.get_command(app)  # type: ignore[assignment]
    assert group is not None
    out = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        out.append((*prefix, name))
        if hasattr(cmd, "commands"):
            out += _commands(cmd, (*prefix, name))
    return out


def test_every_command_has_help() -> None:
    names = _commands()
    for required in [("login",), ("logout",), ("whoami",), ("providers", "add"), ("providers", "catalog"),
                     ("models", "enable"), ("keys", "rotate"), ("policies", "test"), ("policies", "edit"),
                     ("chat",), ("usage",), ("logs",), ("agent", "token"), ("agent", "status"),
                     ("routing", "score"), ("doctor",), ("completion",), ("serve",), ("check-config",),
                     ("admin", "create"), ("secrets", "rotate-master-key"), ("budgets", "set"), ("alerts", "set"),
                     ("members", "list"), ("invites", "create")]:
        assert required in names
    for name in names:
        result = runner.invoke(app, [*name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


@pytest.mark.parametrize("args", [
    ["nosuch"], ["keys", "create"], ["models", "add", "m", "--model", "x"], ["logs", "--limit", "0"],
    ["usage", "--by", "colour"], ["completion", "tcsh"], ["serve", "--log-format", "xml"],
])
def test_bad_usage_is_exit_2_on_stderr(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.strip() and "Traceback" not in out.err


def test_our_own_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("BONITO_KEY", raising=False)
    assert main(["chat", "some-model", "hi"]) == 2
    assert "--key" in capsys.readouterr().err
    assert main(["usage", "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["--profile", "../etc", "whoami"]) == 2


def test_serve_keeps_its_flags() -> None:
    out = runner.invoke(app, ["serve", "--help"]).output
    for flag in ("--config", "--host", "--port", "--workers", "--log-level", "--log-format"):
        assert flag in out
    agent = runner.invoke(app, ["agent", "--help"]).output
    for flag in ("--control-plane", "--token", "--token-file", "--config", "--state-dir", "--sync-interval",
                 "--heartbeat-interval", "--log-format"):
        assert flag in agent


def test_routing_score_writes_one_line_per_prompt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = ["hi", "Prove that there are infinitely many primes; explain each step and compute 2^61-1."]
    src = tmp_path / "prompts.jsonl"
    src.write_text("".join(json.dumps({"id": f"p{i}", "prompt": p}) + "\n" for i, p in enumerate(prompts)))
    assert main(["routing", "score", str(src), "--threshold", "0.5"]) == 0
    out = capsys.readouterr()
    lines = [json.loads(x) for x in out.out.splitlines()]
    assert [x["id"] for x in lines] == ["p0", "p1"]
    for x, p in zip(lines, prompts, strict=True):
        assert 0 <= x["score"] <= 1 and x["score"] == pytest.approx(complexity(p), abs=1e-6)
    strong = sum(complexity(p) >= 0.5 for p in prompts)
    assert f"{strong} of 2 prompts" in out.err

    assert main(["routing", "score", str(src), "--threshold", "0.5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["strong_share"] == strong / 2 and len(doc["items"]) == 2


def test_routing_score_names_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": 1, "prompt": "ok"}\n{"id": 2}\n')
    assert main(["routing", "score", str(src), "--json"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "bad.jsonl:2" in out.err and "prompt" in out.err


def test_routing_score_reads_stdin() -> None:
    result = runner.invoke(app, ["routing", "score", "-"], input='{"prompt": "hello"}\n')
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"id": 1, "score": round(complexity("hello"), 6)}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    result = runner.invoke(app, ["completion", shell])
    assert result.exit_code == 0 and "_BONITO_COMPLETE" in result.stdout
    checker = shutil.which(shell)
    if shell == "bash":
        assert checker, "bash is needed to check the script"
    if checker:
        flag = ["-n"] if shell != "fish" else ["--no-execute"]
        check = subprocess.run([checker, *flag], input=result.stdout, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_bash_completion_completes_commands(tmp_path: Path) -> None:
    from tests.cli.support import BONITO

    env = {**os.environ, "_BONITO_COMPLETE": "complete_bash", "COMP_WORDS": "bonito prov", "COMP_CWORD": "1"}
    out = subprocess.run([BONITO], env=env, capture_output=True, text=True, timeout=30)
    assert "providers" in out.stdout


def test_docs_are_current() -> None:
    from bonito.cli.docs import render

    assert (ROOT / "docs" / "cli.md").read_text() == render(), \
        "docs/cli.md is stale: python -m bonito.cli.docs > docs/cli.md"


def test_session_files_are_private_whatever_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    old = os.umask(0)
    try:
        path = sessions.save("default", sessions.Session(url="http://x", email="a@b.c", access_token="t",
                                                         refresh_token="r"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for d in (tmp_path / "cfg" / "bonito", path.parent):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert sessions.load("default") == sessions.Session(url="http://x", email="a@b.c", access_token="t",
                                                        refresh_token="r")


def test_credentials_file_names_a_missing_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BONITO_TEST_UNSET_KEY", raising=False)
    creds = tmp_path / "creds.yaml"
    creds.write_text("api_key: ${BONITO_TEST_UNSET_KEY}\n")
    assert main(["providers", "add", "p", "--type", "openai", "--credentials-file", str(creds)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "BONITO_TEST_UNSET_KEY" in out.err
    assert main(["providers", "add", "p", "--type", "openai", "--set", "no-equals-sign"]) == 2
    assert "FIELD=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["whoami"], ["providers", "list"], ["providers", "add", "p", "--type", "openai"], ["providers", "validate", "p"],
    ["providers", "catalog", "p"], ["providers", "remove", "p"], ["models", "list"], ["models", "enable", "m"],
    ["models", "add", "m", "--provider", "p", "--model", "x"], ["keys", "create", "k"], ["keys", "list"],
    ["keys", "revoke", "k"], ["keys", "rotate", "k"], ["policies", "list"], ["policies", "test", "r"],
    ["policies", "remove", "r"], ["budgets", "list"], ["budgets", "set", "--usd", "5"], ["alerts", "list"],
    ["members", "list"], ["invites", "list"], ["agent", "token"], ["agent", "status"], ["usage"], ["logs"],
    ["logs", "--csv", "-"], ["chat", "m", "hi", "--key", "bn-x"], ["chat", "m", "hi", "--key", "bn-x", "--no-stream"],
    ["logout"],
])
def test_a_closed_port_is_one_line_on_stderr(args: list[str], capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("BONITO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("BONITO_TOKEN", "x")
    code = main(args)
    out = capsys.readouterr()
    if args == ["logout"]:  # nothing saved: nothing to end
        assert code == 0
        return
    assert code == 1 and out.out == ""
    assert out.err.startswith("bonito: ") and "127.0.0.1:9" in out.err and "Traceback" not in out.err


def test_requests_go_through_the_environments_proxy(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = json.dumps({"email": "via@proxy.example", "role": "admin", "org_id": "o"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for k in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(k, raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.setenv("BONITO_URL", "http://bonito.invalid:8000")
        monkeypatch.setenv("BONITO_TOKEN", "x")
        assert main(["whoami", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["email"] == "via@proxy.example"
        assert seen == ["http://bonito.invalid:8000/api/auth/me"]
        monkeypatch.setenv("NO_PROXY", "bonito.invalid")
        assert main(["whoami"]) == 1 and len(seen) == 1  # not through the proxy: the name does not resolve
    finally:
        proxy.shutdown()
