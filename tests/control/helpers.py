"""Talking to the control plane of a real server: accounts, orgs with a provider, model and key."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"
UPSTREAM_KEY = "sk-upstream"


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Account:
    email: str
    access: str
    refresh: str
    org_id: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access}"}


@dataclass
class Org:
    """An org with one OpenAI-compatible provider (the fake upstream), one model and one gateway key."""

    admin: Account
    provider: dict[str, Any]
    model: dict[str, Any]
    key: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


class Api:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def register(self, email: str | None = None, org_name: str = "acme") -> Account:
        email = email or unique_email()
        r = self.http.post("/api/auth/register", json={"email": email, "password": PASSWORD, "org_name": org_name})
        assert r.status_code == 201, r.text
        body = r.json()
        return Account(email, body["access_token"], body["refresh_token"], body["org"]["id"], body["user"]["id"])

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.http.post("/api/auth/login", json={"email": email, "password": password})

    def add_member(self, admin: Account, role: str) -> Account:
        email = unique_email(role)
        r = self.http.post("/api/org/members", json={"email": email, "role": role, "password": PASSWORD},
                           headers=admin.headers)
        assert r.status_code == 201, r.text
        r = self.login(email)
        assert r.status_code == 200, r.text
        tokens = r.json()
        return Account(email, tokens["access_token"], tokens["refresh_token"], admin.org_id,
                       self.get("/api/auth/me", tokens["access_token"]).json()["id"])

    def get(self, path: str, token: str | Account, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers=_auth(token), **kw)

    def post(self, path: str, token: str | Account, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, headers=_auth(token), json=json, **kw)

    def delete(self, path: str, token: str | Account) -> httpx.Response:
        return self.http.delete(path, headers=_auth(token))

    def patch(self, path: str, token: str | Account, json: Any) -> httpx.Response:
        return self.http.patch(path, headers=_auth(token), json=json)

    def org_with_key(self, upstream_url: str, *, model_name: str = "gpt-4o-mini", api_key: str = UPSTREAM_KEY,
                     key_body: dict[str, Any] | None = None, admin: Account | None = None) -> Org:
        admin = admin or self.register()
        provider = self.post("/api/providers", admin, {
            "name": "local-openai", "type": "openai",
            "credentials": {"base_url": upstream_url, "api_key": api_key}})
        assert provider.status_code == 201, provider.text
        model = self.post("/api/models", admin, {
            "name": model_name, "provider_id": provider.json()["id"], "model": "gpt-4o-mini",
            "input_cost_per_mtok": 0.15, "output_cost_per_mtok": 0.60})
        assert model.status_code == 201, model.text
        key = self.post("/api/gateway/keys", admin, key_body or {"name": "ci"})
        assert key.status_code == 201, key.text
        self.wait_key_live(key.json()["key"])
        return Org(admin, provider.json(), model.json(), key.json())

    def wait_key_live(self, key: str, within_s: float = 15.0) -> None:
        """Until the gateway knows a new key (the contract's 2 s; more on a loaded machine)."""
        deadline = time.monotonic() + within_s
        while self.http.get("/v1/models", headers={"authorization": f"Bearer {key}"}).status_code != 200:
            assert time.monotonic() < deadline, "a new key did not reach the gateway"
            time.sleep(0.05)

    def close(self) -> None:
        self.http.close()


def _auth(token: str | Account) -> dict[str, str]:
    return token.headers if isinstance(token, Account) else {"authorization": f"Bearer {token}"}


def chat(base_url: str, key: str, model: str = "gpt-4o-mini", **headers: str) -> httpx.Response:
    return httpx.post(f"{base_url}/v1/chat/completions", headers={"authorization": f"Bearer {key}", **headers},
                      json={"model": model, "messages": [{"role": "user", "content": "Hi there"}]}, timeout=30)


def eventually(check: Callable[[], bool], within_s: float, step_s: float = 0.05) -> float:
    """Seconds until `check()` held; fails if it did not within `within_s`."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > within_s:
            raise AssertionError(f"condition not met within {within_s}s")
        time.sleep(step_s)
