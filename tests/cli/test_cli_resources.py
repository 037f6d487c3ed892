"""Every resource command against a real server, by name, with --json parsed as the /api document."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path

from tests.cli.support import BONITO, Cli
from tests.control.helpers import PASSWORD, Account, Api
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


def _login(cli: Cli, server: BonitoServer, admin: Account) -> None:
    cli.ok("login", "--url", server.url, "--email", admin.email, "--password-stdin", input=PASSWORD + "\n")


def _catalog(cli: Cli, fake: FakeOpenAI) -> None:
    creds = cli.home / "creds.yaml"
    creds.write_text("base_url: ${FAKE_URL}\napi_key: sk-upstream\n")
    cli.ok("providers", "add", "up", "--type", "openai", "--credentials-file", str(creds), FAKE_URL=fake.url)
    cli.ok("models", "add", "a", "--provider", "up", "--model", "gpt-4o-mini")
    cli.ok("models", "add", "b", "--provider", "up", "--model", "gpt-4o", "--input-cost", "5", "--output-cost", "15")


def test_providers_and_models_by_name(cli: Cli, server: BonitoServer, admin: Account, fake: FakeOpenAI) -> None:
    _login(cli, server, admin)
    cli.fails(2, "providers", "add", "x", "--type", "nosuchcloud")
    cli.fails(1, "providers", "add", "y", "--type", "openai", "--credentials-file", str(cli.home / "missing.yaml"))
    _catalog(cli, fake)
    assert any(m["id"] for m in cli.json("providers", "catalog", "up"))
    assert cli.json("models", "disable", "a")["enabled"] is False
    assert {m["name"]: m["enabled"] for m in cli.json("models", "list")} == {"a": False, "b": True}
    assert cli.json("models", "enable", "a")["enabled"] is True
    listed = cli.ok("models", "list").stdout
    assert "up" in listed and "gpt-4o" in listed  # the provider shown by name
    cli.ok("models", "remove", "b")
    assert [m["name"] for m in cli.json("models", "list")] == ["a"]
    cli.fails(1, "models", "remove", "b")


def test_keys_rotate_prints_the_new_key_once(cli: Cli, server: BonitoServer, admin: Account) -> None:
    _login(cli, server, admin)
    first = cli.json("keys", "create", "svc", "--rpm", "60", "--tpm", "1000")
    assert first["key"].startswith("bn-") and first["requests_per_minute"] == 60
    rotated = cli.ok("keys", "rotate", "svc")
    new = rotated.stdout.strip()
    assert new.startswith("bn-") and new != first["key"] and new not in rotated.stderr
    (row,) = cli.json("keys", "list")
    assert row["id"] == first["id"] and "key" not in row and new[-4:] == row["key_last4"]


def test_policies_create_list_test_remove(cli: Cli, server: BonitoServer, admin: Account, fake: FakeOpenAI) -> None:
    _login(cli, server, admin)
    _catalog(cli, fake)
    route = cli.home / "route.yaml"
    route.write_text("production-chat:\n  strategy: failover\n  targets:\n    - {model: b}\n    - {model: a}\n")
    created = cli.json("policies", "create", "--file", str(route))
    assert created["name"] == "production-chat" and [t["model"] for t in created["targets"]] == ["b", "a"]
    as_json = cli.home / "route.json"
    as_json.write_text(json.dumps({"name": "cheap", "strategy": "cost_optimized",
                                   "targets": [{"model": "a"}, {"model": "b"}]}))
    cli.ok("policies", "create", "-f", str(as_json))
    assert sorted(p["name"] for p in cli.json("policies", "list")) == ["cheap", "production-chat"]
    plan = cli.json("policies", "test", "production-chat", "--prompt", "hello")
    assert plan["first_target"] == "b" and [t["model"] for t in plan["targets"]] == ["b", "a"]
    shown = cli.ok("policies", "test", "cheap").stdout
    assert "first target: a" in shown
    cli.ok("policies", "remove", "cheap")
    assert [p["name"] for p in cli.json("policies", "list")] == ["production-chat"]
    bad = cli.home / "bad.yaml"
    bad.write_text("name: broken\nstrategy: failover\ntargets: []\n")
    refused = cli.fails(1, "policies", "create", "--file", str(bad))
    assert "targets" in refused.stderr


def test_budgets_alerts_members_invites(cli: Cli, server: BonitoServer, admin: Account, api: Api) -> None:
    _login(cli, server, admin)
    cli.ok("keys", "create", "team")
    budget = cli.json("budgets", "set", "--usd", "50", "--period", "monthly")
    assert budget["usd"] in ("50", "50.000000", "50.0") or float(budget["usd"]) == 50
    again = cli.json("budgets", "set", "--usd", "75")  # the same scope and period: changed, not added
    assert again["id"] == budget["id"] and float(again["usd"]) == 75
    keyed = cli.json("budgets", "set", "--usd", "5", "--period", "daily", "--key", "team")
    assert keyed["scope"] == "key" and keyed["key_id"]
    assert len(cli.json("budgets", "list")) == 2

    rule = cli.json("alerts", "set", "spend", "--kind", "budget", "--threshold", "80")
    changed = cli.json("alerts", "set", "spend", "--kind", "budget", "--threshold", "90", "--disable")
    assert changed["id"] == rule["id"] and changed["threshold"] == 90 and changed["enabled"] is False
    assert [r["name"] for r in cli.json("alerts", "list")] == ["spend"]

    invite = cli.json("invites", "create", "new.person@example.com", "--role", "viewer")
    assert invite["token"] and invite["role"] == "viewer"
    assert [i["email"] for i in cli.json("invites", "list")] == ["new.person@example.com"]
    cli.ok("invites", "revoke", "new.person@example.com")
    assert cli.json("invites", "list") == []

    member = api.add_member(admin, "member")
    assert cli.json("members", "role", member.email, "viewer")["role"] == "viewer"
    cli.ok("members", "remove", member.email)
    assert [m["email"] for m in cli.json("members", "list")] == [admin.email]
    added = cli.json("members", "add", "fresh@example.com", "--role", "viewer", "--password-stdin",
                     input=PASSWORD + "\n")
    assert added["role"] == "viewer" and api.login("fresh@example.com").status_code == 200


def test_doctor_passes_then_names_the_failing_check(cli: Cli, server: BonitoServer, admin: Account,
                                                    fake: FakeOpenAI) -> None:
    _login(cli, server, admin)
    _catalog(cli, fake)
    report = cli.json("doctor")
    assert report["ok"] is True
    names = [c["name"] for c in report["checks"]]
    assert names[:4] == ["server", "clock", "stores", "session"] and "provider up" in names
    assert "bonito" in report["checks"][0]["detail"]  # its version
    lines = cli.ok("doctor").stdout.splitlines()
    assert all(line.startswith("ok") for line in lines if not line.startswith(" ")), lines

    cli.ok("providers", "add", "broken", "--type", "openai", "--set", "base_url=http://127.0.0.1:9/v1",
           "--set", "api_key=sk-x")
    failed = cli.fails(1, "doctor")
    assert "FAIL  provider broken" in failed.stdout and "hint:" in failed.stdout
    as_json = cli.fails(1, "doctor", "--json")
    assert as_json.stdout == "" and "provider broken" in as_json.stderr and "hint" in as_json.stderr
    invalid = cli.fails(1, "providers", "validate", "broken", "--json")
    assert invalid.stdout == "" and "broken" in invalid.stderr
    down = cli.run("doctor", BONITO_URL="http://127.0.0.1:9", BONITO_TOKEN="x")
    assert down.returncode == 1 and "FAIL  server" in down.stdout


def test_logs_follow_prints_new_records_as_they_come(cli: Cli, server: BonitoServer, api: Api,
                                                     fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    env = cli.environ(BONITO_URL=server.url, BONITO_TOKEN=org.admin.access)
    proc = subprocess.Popen([BONITO, "logs", "--follow", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        time.sleep(1.0)
        rid = f"follow-{os.getpid()}-{time.monotonic_ns()}"
        deadline = time.monotonic() + 10
        while api.http.post(server.url + "/v1/chat/completions",
                            headers={"authorization": f"Bearer {org.key['key']}", "x-request-id": rid},
                            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
                            ).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert proc.stdout is not None
        got = b""
        deadline = time.monotonic() + 20
        while rid.encode() not in got and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                got += os.read(proc.stdout.fileno(), 65536)
        records = [json.loads(x) for x in got.decode().splitlines() if x.strip()]
        assert rid in [r["request_id"] for r in records]
        assert proc.poll() is None  # still following
    finally:
        proc.terminate()
        proc.wait(10)


def test_usage_and_logs_filters(cli: Cli, server: BonitoServer, api: Api, fake: FakeOpenAI,
                                tmp_path: Path) -> None:
    org = api.org_with_key(fake.url)
    env = {"BONITO_URL": server.url, "BONITO_TOKEN": org.admin.access}
    empty = cli.json("usage", "--since", "7d", **env)
    assert empty["requests"] == 0 and empty["group_by"] == "day"
    assert "no requests" in cli.ok("usage", "--since", "7d", **env).stdout
    assert cli.json("logs", "--status", "500", **env)["items"] == []
    out = cli.ok("logs", "--csv", "-", **env).stdout
    assert out.splitlines()[0].startswith("id,") or "request_id" in out.splitlines()[0]
