"""The newcomer's journey with the installed `bonito` against a real `bonito serve` and the fake upstream:
login → provider → model → key → chat → usage → logs → revoke → chat refused."""

from __future__ import annotations

import csv
import io
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.support import Cli
from tests.control.helpers import PASSWORD, UPSTREAM_KEY, Account
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


def eventually(check: Callable[[], Any], within_s: float = 15.0) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def login(cli: Cli, server: BonitoServer, admin: Account) -> None:
    out = cli.ok("login", "--url", server.url, "--email", admin.email, "--password-stdin", input=PASSWORD + "\n")
    assert out.stdout == ""  # notes go to stderr
    assert admin.email in out.stderr


def test_newcomer_journey(cli: Cli, server: BonitoServer, admin: Account, fake: FakeOpenAI) -> None:
    login(cli, server, admin)
    # the session: directory 0700, files 0600, no password in it
    files = [p for p in cli.config_dir.rglob("*")]
    assert files
    for p in [cli.config_dir, *files]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))
        if p.is_file():
            assert PASSWORD not in p.read_text()
    assert cli.json("whoami")["email"] == admin.email

    provider = cli.json("providers", "add", "up", "--type", "openai", "--set", f"base_url={fake.url}",
                        "--set", f"api_key={UPSTREAM_KEY}")
    assert provider["name"] == "up" and provider["id"] and UPSTREAM_KEY not in str(provider)
    assert [p["name"] for p in cli.json("providers", "list")] == ["up"]
    assert cli.json("providers", "validate", "up")["ok"] is True  # a name where the API takes an id

    model = cli.json("models", "add", "mini", "--provider", "up", "--model", "gpt-4o-mini",
                     "--input-cost", "1", "--output-cost", "2")
    assert model["provider_id"] == provider["id"] and model["input_cost_per_mtok"] == 1

    created = cli.ok("keys", "create", "ci", "--models", "mini")
    key = created.stdout.strip()
    assert key.startswith("bn-") and created.stdout.count(key) == 1 and key not in created.stderr
    listed = cli.ok("keys", "list")
    assert key not in listed.stdout and "ci" in listed.stdout

    answer = eventually(lambda: cli.run("chat", "mini", "Say hello", "--key", key))
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == fake.reply
    assert "in /" in answer.stderr and "out tokens" in answer.stderr  # the summary on stderr

    usage = eventually(lambda: (u := cli.json("usage", "--since", "24h"))["requests"] >= 1 and u)
    assert usage["requests"] >= 1 and usage["by_model"][0]["model"] == "mini"
    table = cli.ok("usage", "--by", "key")
    assert "ci" in table.stdout and "█" in table.stdout

    logs = cli.json("logs", "--limit", "5")
    assert logs["items"][0]["model"] == "mini" and logs["items"][0]["status"] == 200
    export = Path(cli.home / "logs.csv")
    cli.ok("logs", "--csv", str(export))
    rows = list(csv.DictReader(io.StringIO(export.read_text())))
    assert rows and rows[0]["request_id"] == logs["items"][0]["request_id"]

    cli.ok("keys", "revoke", "ci")
    refused = eventually(lambda: (r := cli.run("chat", "mini", "Hello again", "--key", key)).returncode == 1 and r,
                         within_s=5)
    assert refused and refused.stdout == "" and "401" in refused.stderr


def test_errors_are_one_line_on_stderr_with_the_exit_code(cli: Cli, server: BonitoServer, admin: Account) -> None:
    cli.fails(1, "whoami")  # not logged in
    cli.fails(1, "whoami", BONITO_URL=server.url, BONITO_TOKEN="not-a-token")
    cli.fails(2, "nosuchcommand")
    cli.fails(2, "keys", "create")  # a missing argument
    cli.fails(2, "logs", "--limit", "zero")
    closed = cli.fails(1, "whoami", BONITO_URL="http://127.0.0.1:9", BONITO_TOKEN="x")
    assert "127.0.0.1:9" in closed.stderr and closed.stdout == ""
    login(cli, server, admin)
    gone = cli.fails(1, "providers", "validate", "nope", "--json")
    assert gone.stdout == "" and "nope" in gone.stderr
    bad = cli.fails(1, "models", "add", "x", "--provider", "nope", "--model", "m")
    assert "provider" in bad.stderr


def test_env_token_takes_precedence_over_the_session(cli: Cli, server: BonitoServer, admin: Account,
                                                      api: Any) -> None:
    login(cli, server, admin)
    other = api.register()
    me = cli.json("whoami", BONITO_URL=server.url, BONITO_TOKEN=other.access)
    assert me["email"] == other.email
    assert cli.json("whoami")["email"] == admin.email


def test_expired_access_token_is_refreshed_and_saved(cli: Cli, server: BonitoServer, admin: Account) -> None:
    import json

    login(cli, server, admin)
    path = next(cli.config_dir.rglob("*.json"))
    saved = json.loads(path.read_text())
    saved["access_token"] = "expired.or.garbage"
    path.write_text(json.dumps(saved))
    assert cli.json("whoami")["email"] == admin.email
    again = json.loads(path.read_text())
    assert again["access_token"] != "expired.or.garbage" and again["refresh_token"] != saved["refresh_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cli.ok("logout")
    assert not path.exists()
    cli.fails(1, "whoami")


def test_profiles_keep_two_sessions(cli: Cli, server: BonitoServer, admin: Account, api: Any) -> None:
    other = api.register()
    login(cli, server, admin)
    cli.ok("--profile", "second", "login", "--url", server.url, "--email", other.email, "--password-stdin",
           input=PASSWORD + "\n")
    assert cli.json("whoami")["email"] == admin.email
    assert cli.json("--profile", "second", "whoami")["email"] == other.email
