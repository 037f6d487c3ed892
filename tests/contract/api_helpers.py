"""Shared pieces of the control-plane contract tests (tests/contract/test_contract_api_*.py)."""

from __future__ import annotations

import re
from typing import Any

import httpx

# the /api calls that need no access token; every other operation must answer 401 without one
PUBLIC = {("POST", "/api/auth/register"), ("POST", "/api/auth/login"), ("POST", "/api/auth/refresh"),
          ("POST", "/api/auth/logout"), ("GET", "/api/openapi.json"), ("GET", "/api/docs")}


def operations(base_url: str) -> list[tuple[str, str]]:
    """(METHOD, path with ids filled in) for every operation in /api/openapi.json."""
    spec = httpx.get(base_url + "/api/openapi.json", timeout=30).json()
    ops = []
    for path, item in spec["paths"].items():
        for method in item:
            if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                ops.append((method.upper(), re.sub(r"\{[^}]+\}", "abc_0123456789", path)))
    return sorted(ops)


def create_operations(base_url: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, request-body schema) for every operation that takes a JSON body."""
    spec = httpx.get(base_url + "/api/openapi.json", timeout=30).json()
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if body is not None:
                out.append((method.upper(), re.sub(r"\{[^}]+\}", "abc_0123456789", path), body["schema"]))
    return sorted(out, key=lambda t: (t[1], t[0]))


SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "permissions-policy")


def assert_security_headers(r: httpx.Response) -> None:
    assert r.headers.get("x-content-type-options") == "nosniff", (r.request.url, r.status_code)
    assert r.headers.get("x-frame-options", "").upper() == "DENY", (r.request.url, r.status_code)
    assert r.headers.get("referrer-policy"), (r.request.url, r.status_code)
    assert r.headers.get("permissions-policy"), (r.request.url, r.status_code)
