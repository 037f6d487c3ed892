"""CONTRACT.md, "Control plane API": accounts, tokens, throttling and "a Bearer access token on every other
call", checked from outside against a real full-mode server."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
import uuid

import httpx
import jwt
import pytest

from bonito.secrets.keyring import parse_key
from tests.contract.api_helpers import PUBLIC, operations
from tests.control.helpers import PASSWORD, Api, unique_email
from tests.support.server import BonitoServer

TOKEN_KEYS = {"access_token", "refresh_token", "token_type"}
_ips = (f"198.51.100.{i}" for i in itertools.count(1))


@pytest.fixture
def ip() -> str:
    """A client address of the test's own (the server trusts X-Forwarded-For from 127.0.0.1), so per-IP
    failure counts of one test never reach another."""
    return next(_ips)


def login(api: Api, email: str, password: str, ip: str) -> httpx.Response:
    return api.http.post("/api/auth/login", json={"email": email, "password": password},
                         headers={"x-forwarded-for": ip})


def test_register_answers_201_with_tokens_and_makes_an_admin_of_a_new_org(api: Api) -> None:
    email = unique_email()
    r = api.http.post("/api/auth/register", json={"email": email, "password": PASSWORD, "org_name": "Contract"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert TOKEN_KEYS <= set(body) and body["token_type"].lower() == "bearer"
    me = api.get("/api/auth/me", body["access_token"])
    assert me.status_code == 200 and me.json()["email"] == email and me.json()["role"] == "admin"
    # the new admin may change the new org (an admin-only call)
    assert api.post("/api/gateway/keys", body["access_token"], {"name": "first"}).status_code == 201
    assert api.http.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 200


def test_login_and_refresh_answer_exactly_the_token_triple(api: Api, ip: str) -> None:
    acct = api.register()
    r = login(api, acct.email, PASSWORD, ip)
    assert r.status_code == 200 and set(r.json()) == TOKEN_KEYS, r.text
    tokens = r.json()
    assert tokens["token_type"].lower() == "bearer"
    assert api.get("/api/auth/me", tokens["access_token"]).json()["email"] == acct.email
    refreshed = api.http.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200 and set(refreshed.json()) == TOKEN_KEYS, refreshed.text
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    assert api.get("/api/auth/me", refreshed.json()["access_token"]).json()["email"] == acct.email


def test_a_retired_or_revoked_refresh_token_gets_401(api: Api) -> None:
    acct = api.register()
    new = api.http.post("/api/auth/refresh", json={"refresh_token": acct.refresh}).json()
    assert api.http.post("/api/auth/refresh", json={"refresh_token": acct.refresh}).status_code == 401

    other = api.register()
    out = api.http.post("/api/auth/logout", json={"refresh_token": other.refresh})
    assert out.status_code in (200, 204)
    assert api.http.post("/api/auth/refresh", json={"refresh_token": other.refresh}).status_code == 401
    assert api.http.post("/api/auth/logout", json={"refresh_token": other.refresh}).status_code < 500
    # logout of a token obtained by refreshing revokes it too
    third = api.register()
    fresh = api.http.post("/api/auth/refresh", json={"refresh_token": third.refresh}).json()
    assert api.http.post("/api/auth/logout", json={"refresh_token": fresh["refresh_token"]}).status_code in (200, 204)
    assert api.http.post("/api/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 401
    for junk in ("", "x", "brt_" + "A" * 43, new["access_token"]):
        r = api.http.post("/api/auth/refresh", json={"refresh_token": junk})
        assert r.status_code in (401, 422), (junk, r.status_code)


def test_unknown_email_is_answered_byte_for_byte_like_a_wrong_password(api: Api, ip: str) -> None:
    acct = api.register()
    answers = [login(api, acct.email, "not the password", ip), login(api, unique_email("ghost"), "not the password", ip),
               login(api, acct.email.upper(), "not the password", ip), login(api, "not-even-an-email", "x" * 9, ip)]
    assert {r.status_code for r in answers} == {401}
    assert len({r.content for r in answers}) == 1, [r.text for r in answers]
    assert len({r.headers.get("content-type") for r in answers}) == 1
    assert len({r.headers.get("www-authenticate") for r in answers}) == 1


def test_five_failures_for_an_account_throttle_it_from_any_address(api: Api) -> None:
    acct = api.register()
    for n in range(5):  # at least five failures are answered 401, each from its own address
        assert login(api, acct.email, "wrong password!", f"203.0.113.{n + 1}").status_code == 401, n
    throttled = login(api, acct.email, "wrong password!", "203.0.113.99")
    assert throttled.status_code == 429
    assert login(api, acct.email, PASSWORD, "203.0.113.100").status_code == 429
    assert "wrong password" not in throttled.text and PASSWORD not in throttled.text
    # an unknown email is throttled alike, with the same answer
    ghost = unique_email("ghost")
    for n in range(5):
        assert login(api, ghost, "wrong password!", f"203.0.114.{n + 1}").status_code == 401
    ghost_throttled = login(api, ghost, "wrong password!", "203.0.114.99")
    assert ghost_throttled.status_code == 429 and ghost_throttled.content == throttled.content
    # other accounts are unaffected
    assert login(api, api.register().email, PASSWORD, "203.0.113.101").status_code == 200


def test_failures_from_one_address_throttle_it_but_not_before_five(api: Api, ip: str) -> None:
    statuses = [login(api, unique_email("spray"), "wrong password!", ip).status_code for _ in range(60)]
    assert statuses[:5] == [401] * 5
    assert 429 in statuses, "failures from one address across many accounts are never throttled"
    first = statuses.index(429)
    assert set(statuses[first:]) == {429}
    # another address is not throttled by them
    acct = api.register()
    assert login(api, acct.email, PASSWORD, "192.0.2.77").status_code == 200


def test_successful_logins_never_count(api: Api, ip: str) -> None:
    acct = api.register()
    for _ in range(12):
        assert login(api, acct.email, PASSWORD, ip).status_code == 200
    for _ in range(4):
        assert login(api, acct.email, "wrong password!", ip).status_code == 401
    for _ in range(6):
        assert login(api, acct.email, PASSWORD, ip).status_code == 200


def test_me_answers_the_user_with_email(api: Api) -> None:
    acct = api.register()
    me = api.get("/api/auth/me", acct)
    assert me.status_code == 200 and me.json()["email"] == acct.email and me.json()["id"] == acct.user_id


def _expired_and_foreign_tokens(server: BonitoServer, user_id: str, org_id: str) -> list[str]:
    master = parse_key((server.workdir / ".bonito" / "master.key").read_text())
    secret = hmac.new(master, b"bonito/jwt/v1", hashlib.sha256).digest()
    now = int(time.time())
    expired = jwt.encode({"sub": user_id, "org": org_id, "typ": "access", "iat": now - 7200, "exp": now - 5},
                         secret, algorithm="HS256")
    forged = jwt.encode({"sub": user_id, "org": org_id, "typ": "access", "iat": now, "exp": now + 600},
                        b"someone else's secret key, 32 bytes!", algorithm="HS256")
    unsigned = jwt.encode({"sub": user_id, "org": org_id, "typ": "access", "iat": now, "exp": now + 600},
                          None, algorithm="none")
    return [expired, forged, unsigned]


def test_every_other_call_needs_a_valid_access_token(api: Api, server: BonitoServer) -> None:
    acct = api.register()
    bad_tokens = ["garbage", acct.refresh, str(uuid.uuid4()),
                  *_expired_and_foreign_tokens(server, acct.user_id, acct.org_id)]
    ops = [op for op in operations(server.url) if op not in PUBLIC and not op[1].startswith("/api/docs")]
    assert len(ops) > 30
    failures = []
    for method, path in ops:
        kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        for token in [None, "", *bad_tokens]:
            headers = {} if token is None else {"authorization": f"Bearer {token}".strip()}
            r = api.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
            if r.status_code != 401:
                failures.append(f"{method} {path} token={str(token)[:12]!r}: {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures[:20])
    # and the signed, unexpired token of the same user works: the refusals above are about the token
    assert api.get("/api/auth/me", acct).status_code == 200
