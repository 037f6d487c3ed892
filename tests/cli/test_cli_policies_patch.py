"""`policies edit NAME --file FILE` over PATCH /api/routing-policies/{id} (the fields given change, the rest
are kept). Needs the PATCH endpoint, added on another branch: the lead runs this after the merge."""

from __future__ import annotations

from tests.cli.support import Cli
from tests.control.helpers import PASSWORD, Account
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


def test_policies_edit_changes_only_the_given_fields(cli: Cli, server: BonitoServer, admin: Account,
                                                     fake: FakeOpenAI) -> None:
    cli.ok("login", "--url", server.url, "--email", admin.email, "--password-stdin", input=PASSWORD + "\n")
    cli.ok("providers", "add", "up", "--type", "openai", "--set", f"base_url={fake.url}", "--set", "api_key=sk-x")
    cli.ok("models", "add", "a", "--provider", "up", "--model", "gpt-4o-mini")
    cli.ok("models", "add", "b", "--provider", "up", "--model", "gpt-4o")
    route = cli.home / "route.yaml"
    route.write_text("name: chat\nstrategy: failover\ntimeout_s: 12\ntargets: [{model: a}, {model: b}]\n")
    created = cli.json("policies", "create", "--file", str(route))
    change = cli.home / "change.json"
    change.write_text('{"targets": [{"model": "b"}, {"model": "a"}]}')
    edited = cli.json("policies", "edit", "chat", "--file", str(change))
    assert edited["id"] == created["id"] and [t["model"] for t in edited["targets"]] == ["b", "a"]
    assert edited["strategy"] == "failover" and edited["timeout_s"] == 12  # kept
    assert cli.json("policies", "test", "chat")["first_target"] == "b"
    bad = cli.home / "bad.json"
    bad.write_text('{"strategy": "nosuch"}')
    refused = cli.fails(1, "policies", "edit", "chat", "--file", str(bad))
    assert "strategy" in refused.stderr and refused.stdout == ""
