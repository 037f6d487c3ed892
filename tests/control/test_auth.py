"""Accounts through the real server: register, login, refresh rotation, logout, me, throttling."""

from __future__ import annotations

import hashlib
import hmac
import time

import jwt

from bonito.secrets.keyring import parse_key
from tests.control.helpers import PASSWORD, Api, unique_email
from tests.support.server import BonitoServer


def test_register_answers_201_with_tokens_and_makes_the_user_admin_of_a_new_org(api: Api) -> None:
    email = unique_email()
    r = api.http.post("/api/auth/register", json={"email": email, "password": PASSWORD, "org_name": "Acme"})
    assert r.status_code == 201
    body = r.json()
    assert body["access_token"] and body["refresh_token"] and body["token_type"] == "bearer"
    me = api.get("/api/auth/me", body["access_token"]).json()
    assert me["email"] == email and me["role"] == "admin"
    assert me["orgs"] == [{"id": body["org"]["id"], "name": "Acme", "role": "admin"}]


def test_register_twice_with_one_email_is_a_conflict(api: Api) -> None:
    acct = api.register()
    r = api.http.post("/api/auth/register", json={"email": acct.email, "password": PASSWORD, "org_name": "x"})
    assert r.status_code == 409


def test_login_answers_tokens(api: Api) -> None:
    acct = api.register()
    r = api.login(acct.email)
    assert r.status_code == 200
    body = r.json()
    assert {"access_token", "refresh_token", "token_type"} <= set(body)
    assert api.get("/api/auth/me", body["access_token"]).json()["email"] == acct.email


def test_unknown_email_is_answered_exactly_like_a_wrong_password(api: Api) -> None:
    acct = api.register()
    wrong = api.login(acct.email, "not the password at all")
    unknown = api.login(unique_email("nobody"), "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.content == unknown.content
    assert wrong.headers.get("content-type") == unknown.headers.get("content-type")


def test_refresh_rotates_and_the_old_refresh_token_is_refused(api: Api) -> None:
    acct = api.register()
    r = api.http.post("/api/auth/refresh", json={"refresh_token": acct.refresh})
    assert r.status_code == 200
    new = r.json()
    assert {"access_token", "refresh_token", "token_type"} <= set(new)
    assert new["refresh_token"] != acct.refresh
    assert api.get("/api/auth/me", new["access_token"]).status_code == 200
    assert api.http.post("/api/auth/refresh", json={"refresh_token": acct.refresh}).status_code == 401


def test_reusing_a_retired_refresh_token_revokes_its_whole_family(api: Api) -> None:
    acct = api.register()
    new = api.http.post("/api/auth/refresh", json={"refresh_token": acct.refresh}).json()
    assert api.http.post("/api/auth/refresh", json={"refresh_token": acct.refresh}).status_code == 401
    # the thief replayed the old token: the legitimate newer one is now dead too
    assert api.http.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]}).status_code == 401


def test_logout_revokes_the_refresh_token(api: Api) -> None:
    acct = api.register()
    r = api.http.post("/api/auth/logout", json={"refresh_token": acct.refresh})
    assert r.status_code in (200, 204)
    assert api.http.post("/api/auth/refresh", json={"refresh_token": acct.refresh}).status_code == 401


def test_missing_invalid_or_expired_access_tokens_get_401(api: Api, full_server: BonitoServer) -> None:
    acct = api.register()
    assert api.http.get("/api/auth/me").status_code == 401
    assert api.get("/api/providers", "not-a-token").status_code == 401
    assert api.http.get("/api/providers", headers={"authorization": "Basic abc"}).status_code == 401
    tampered = acct.access[:-4] + ("AAAA" if not acct.access.endswith("AAAA") else "BBBB")
    assert api.get("/api/auth/me", tampered).status_code == 401
    # a correctly signed but expired token (signed with the server's own key, derived from its master key)
    master = parse_key((full_server.workdir / ".bonito" / "master.key").read_text())
    secret = hmac.new(master, b"bonito/jwt/v1", hashlib.sha256).digest()
    now = int(time.time())
    expired = jwt.encode({"sub": acct.user_id, "org": acct.org_id, "typ": "access", "iat": now - 3600,
                          "exp": now - 60}, secret, algorithm="HS256")
    assert api.get("/api/auth/me", expired).status_code == 401
    valid = jwt.encode({"sub": acct.user_id, "org": acct.org_id, "typ": "access", "iat": now, "exp": now + 60},
                       secret, algorithm="HS256")
    assert api.get("/api/auth/me", valid).status_code == 200  # the forged-expiry check above is meaningful


def test_login_is_throttled_after_five_failures_for_an_account(api: Api) -> None:
    acct = api.register()
    for _ in range(5):
        assert api.login(acct.email, "wrong password!").status_code == 401
    r = api.login(acct.email, "wrong password!")
    assert r.status_code == 429
    assert api.login(acct.email).status_code == 429  # even the right password, while throttled
    assert "password" not in r.text.lower() or "attempts" in r.text.lower()


def test_successful_logins_do_not_count_towards_throttling(api: Api) -> None:
    acct = api.register()
    for _ in range(8):
        assert api.login(acct.email).status_code == 200
    for _ in range(4):
        assert api.login(acct.email, "wrong password!").status_code == 401
    assert api.login(acct.email).status_code == 200


def test_validation_errors_name_the_field_and_never_echo_the_password(api: Api) -> None:
    r = api.http.post("/api/auth/register", json={"email": "not-an-email", "password": "s3cretPassw0rd!",
                                                  "org_name": "x"})
    assert r.status_code == 422
    assert any(e["loc"][-1] == "email" for e in r.json()["detail"])
    assert "s3cretPassw0rd!" not in r.text
    r = api.http.post("/api/auth/register", json={"email": unique_email(), "password": "Zq9!x",
                                                  "org_name": "x"})
    assert r.status_code == 422 and "Zq9!x" not in r.text
    assert any(e["loc"][-1] == "password" for e in r.json()["detail"])
