"""Inviting people: the admin gets a one-time token, the invitee joins with it and a password."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from tests.control.helpers import PASSWORD, Api, unique_email
from tests.support.server import BonitoServer


def _invite(api: Api, admin: object, email: str, role: str = "member") -> dict[str, str]:
    r = api.post("/api/org/invites", admin, {"email": email, "role": role})  # type: ignore[arg-type]
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _accept(api: Api, token: str, password: str) -> object:
    # the invitation token is the Bearer credential, as on every call that is not login or register
    return api.http.post("/api/auth/accept-invite", json={"password": password},
                         headers={"authorization": f"Bearer {token}"})


def _info(api: Api, token: str) -> object:
    return api.http.get("/api/auth/invite", headers={"authorization": f"Bearer {token}"})


def test_a_new_person_joins_with_the_invitation_and_a_password_of_their_own(api: Api) -> None:
    admin = api.register()
    email = unique_email("invitee")
    inv = _invite(api, admin, email.upper(), role="viewer")
    assert inv["email"] == email and inv["role"] == "viewer" and inv["accept_path"] == f"/invite?token={inv['token']}"
    info = _info(api, inv["token"])  # what the accepting page shows
    assert info.status_code == 200 and info.json() == {  # type: ignore[attr-defined]
        "email": email, "role": "viewer", "org_name": "acme", "expires_at": inv["expires_at"],
        "account_exists": False}
    listed = api.get("/api/org/invites", admin).json()
    assert [i["id"] for i in listed] == [inv["id"]] and "token" not in listed[0]

    short = _accept(api, inv["token"], "short")
    assert short.status_code == 422 and "password" in short.text  # type: ignore[attr-defined]
    joined = _accept(api, inv["token"], "a password of my own")
    assert joined.status_code == 200, joined.text  # type: ignore[attr-defined]
    tokens = joined.json()  # type: ignore[attr-defined]
    assert set(tokens) == {"access_token", "refresh_token", "token_type"}
    me = api.get("/api/auth/me", tokens["access_token"]).json()
    assert (me["email"], me["org_id"], me["role"]) == (email, admin.org_id, "viewer")
    assert api.login(email, "a password of my own").status_code == 200

    assert _accept(api, inv["token"], "a password of my own").status_code == 401  # type: ignore[attr-defined]
    assert _info(api, inv["token"]).status_code == 401  # type: ignore[attr-defined]  # used
    assert api.get("/api/org/invites", admin).json() == []
    members = {m["email"]: m["role"] for m in api.get("/api/org/members", admin).json()}
    assert members[email] == "viewer"
    actions = [e["action"] for e in api.get("/api/audit", admin, params={"action": "member.*"}).json()["items"]]
    assert actions == ["member.join", "member.invite"]
    assert inv["token"] not in api.get("/api/audit/export", admin).text


def test_an_existing_account_joins_by_proving_its_password(api: Api) -> None:
    admin, elsewhere = api.register(), api.register(org_name="other")
    inv = _invite(api, admin, elsewhere.email)
    assert _info(api, inv["token"]).json()["account_exists"] is True  # type: ignore[attr-defined]
    assert _accept(api, inv["token"], "not the password").status_code == 401  # type: ignore[attr-defined]
    assert elsewhere.email not in {m["email"] for m in api.get("/api/org/members", admin).json()}
    assert _accept(api, inv["token"], PASSWORD).status_code == 200  # type: ignore[attr-defined]
    r = api.http.post("/api/auth/login", json={"email": elsewhere.email, "password": PASSWORD,
                                               "org_id": admin.org_id})
    assert r.status_code == 200, r.text
    assert api.get("/api/auth/me", r.json()["access_token"]).json()["org_id"] == admin.org_id


def test_invitations_are_replaced_revoked_refused_and_scoped(api: Api) -> None:
    admin, stranger = api.register(), api.register()
    email = unique_email("twice")
    first, second = _invite(api, admin, email), _invite(api, admin, email, role="admin")
    assert [i["id"] for i in api.get("/api/org/invites", admin).json()] == [second["id"]]
    assert _accept(api, first["token"], "long enough pw").status_code == 401  # type: ignore[attr-defined]

    assert api.delete(f"/api/org/invites/{second['id']}", stranger).status_code == 404
    assert api.delete(f"/api/org/invites/{second['id']}", admin).status_code == 204
    assert api.delete(f"/api/org/invites/{second['id']}", admin).status_code == 404
    assert _accept(api, second["token"], "long enough pw").status_code == 401  # type: ignore[attr-defined]
    assert _info(api, second["token"]).status_code == 401  # type: ignore[attr-defined]
    for token in ("bni_made_up", "garbage"):
        assert _info(api, token).status_code == 401  # type: ignore[attr-defined]
        assert _accept(api, token, "long enough pw").status_code == 401  # type: ignore[attr-defined]
    assert api.http.post("/api/auth/accept-invite", json={"password": "long enough pw"}).status_code == 401
    # a signed-in user's own access token is no invitation; a malformed body is still named first
    bad_body = api.http.post("/api/auth/accept-invite", json={}, headers=admin.headers)
    assert bad_body.status_code == 422 and "password" in bad_body.text
    assert api.http.post("/api/auth/accept-invite", json={"password": "long enough pw"},
                         headers=admin.headers).status_code == 401
    assert api.get("/api/auth/invite", admin).status_code == 401

    assert api.post("/api/org/invites", admin, {"email": admin.email}).status_code == 409  # already a member
    bad = api.post("/api/org/invites", admin, {"email": "not-an-email", "role": "owner"})
    assert bad.status_code == 422 and "email" in bad.text and "role" in bad.text
    member = api.add_member(admin, "member")
    assert api.post("/api/org/invites", member, {"email": unique_email()}).status_code == 403
    assert api.get("/api/org/invites", stranger).json() == []


def test_an_expired_invitation_is_refused(api: Api, full_server: BonitoServer) -> None:
    admin = api.register()
    inv = _invite(api, admin, unique_email("late"))
    db = sqlite3.connect(full_server.workdir / ".bonito" / "bonito.db", timeout=10)
    try:
        past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        db.execute("UPDATE invites SET expires_at = ? WHERE id = ?", (past, inv["id"]))
        db.commit()
    finally:
        db.close()
    assert _accept(api, inv["token"], "long enough pw").status_code == 401  # type: ignore[attr-defined]
    assert api.get("/api/org/invites", admin).json() == []
