"""`bonito keys create --no-cache` and `bonito keys cache NAME on|off` against a real server."""

from __future__ import annotations

from tests.cli.support import Cli
from tests.control.helpers import PASSWORD, Account, Api
from tests.support.server import BonitoServer


def test_a_key_made_without_the_cache_and_switched_back(cli: Cli, server: BonitoServer, admin: Account,
                                                        api: Api) -> None:
    cli.ok("login", "--url", server.url, "--email", admin.email, "--password-stdin", input=PASSWORD + "\n")
    created = cli.json("keys", "create", "batch", "--no-cache")
    assert created["cache"] is False and created["key"].startswith("bn-")
    assert cli.json("keys", "create", "web")["cache"] is True
    assert {k["name"]: k["cache"] for k in cli.json("keys", "list")} == {"batch": False, "web": True}

    header, *rows = cli.ok("keys", "list").stdout.splitlines()
    column = header.split("\t").index("CACHE")
    assert {r.split("\t")[0]: r.split("\t")[column] for r in rows} == {"batch": "no", "web": "yes"}

    switched = cli.ok("keys", "cache", "batch", "on")
    assert switched.stdout == "" and "on" in switched.stderr
    assert cli.json("keys", "cache", created["id"], "off")["cache"] is False  # by id too
    assert cli.json("keys", "cache", "web", "off")["cache"] is False
    stored = {k["name"]: k["cache"] for k in api.get("/api/gateway/keys", admin).json()}
    assert stored == {"batch": False, "web": False}

    cli.fails(2, "keys", "cache", "web", "sometimes")
    cli.fails(1, "keys", "cache", "nosuchkey", "on")
    assert api.get("/api/gateway/keys", admin).json()[1]["cache"] is False
