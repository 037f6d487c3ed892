"""CONTRACT.md, "Control plane API": providers, models, keys and routing policies through /api; creates answer
the object with its `id`; credentials never come back; another org's objects are 404; no input is a 5xx."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.contract.api_helpers import create_operations, operations
from tests.control.helpers import Account, Api, Org, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

# every provider type with the fields of its bonito.yaml entry; the values marked SECRET must never come back
SECRET = "SECRET-" + uuid.uuid4().hex
PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {"base_url": "http://127.0.0.1:9/v1", "api_key": f"sk-{SECRET}-openai"},
    "bedrock": {"region": "us-east-1", "access_key_id": f"AKIA{SECRET}", "secret_access_key": f"{SECRET}-aws",
                "session_token": f"{SECRET}-session", "endpoint_url": "http://127.0.0.1:9"},
    "azure": {"endpoint": "http://127.0.0.1:9", "api_key": f"{SECRET}-azure", "api_version": "2024-10-21"},
    "vertex": {"project": "my-project", "location": "us-central1", "endpoint_url": "http://127.0.0.1:9",
               "service_account_json": json.dumps({
                   "type": "service_account", "project_id": "my-project", "client_email": "sa@my-project.iam",
                   "private_key_id": f"{SECRET}-kid", "private_key": f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n"
                                                                    "-----END PRIVATE KEY-----\n",
                   "token_uri": "http://127.0.0.1:9/token"})},
    "anthropic": {"api_key": f"{SECRET}-anthropic", "base_url": "http://127.0.0.1:9"},
}
AZURE_ENTRA = {"endpoint": "http://127.0.0.1:9", "tenant_id": "tenant", "client_id": "client",
               "client_secret": f"{SECRET}-entra", "api_version": "2024-10-21"}


class _EchoingUpstream(BaseHTTPRequestHandler):
    """An upstream whose error message quotes the credentials it was sent (some real ones do)."""

    def do_GET(self) -> None:
        body = json.dumps({"error": {"message": f"bad request with {self.headers.get('authorization')} "
                                                f"and {self.headers.get('api-key')}", "type": "invalid_request_error"}})
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def echoing_upstream() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingUpstream)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _no_secret(text: str) -> None:
    assert SECRET not in text


def test_every_provider_type_is_created_with_its_bonito_yaml_fields_and_never_answers_them(api: Api) -> None:
    admin = api.register()
    created = {}
    for ptype, creds in [*PROVIDERS.items(), ("azure", AZURE_ENTRA)]:
        r = api.post("/api/providers", admin, {"name": f"{ptype}-{uuid.uuid4().hex[:6]}", "type": ptype,
                                               "credentials": creds})
        assert r.status_code == 201, (ptype, r.text)
        body = r.json()
        assert body["id"] and body["type"] == ptype and "credentials" not in body
        _no_secret(r.text)
        created[body["id"]] = ptype
    listed = api.get("/api/providers", admin)
    assert listed.status_code == 200 and {p["id"] for p in listed.json()} == set(created)
    _no_secret(listed.text)
    for pid in created:
        one = api.get(f"/api/providers/{pid}", admin)
        assert one.status_code == 200 and one.json()["id"] == pid
        _no_secret(one.text)
        checked = api.post(f"/api/providers/{pid}/validate", admin)  # nothing listens: not ok, and no 5xx
        assert checked.status_code == 200 and checked.json()["ok"] is False, checked.text
        _no_secret(checked.text)
    for resp in (api.get("/api/audit", admin), api.get("/api/audit/export", admin)):
        _no_secret(resp.text)


def test_validate_never_repeats_credentials_an_upstream_quoted(api: Api, echoing_upstream: str) -> None:
    admin = api.register()
    r = api.post("/api/providers", admin, {"name": "echo", "type": "openai",
                                           "credentials": {"base_url": echoing_upstream, "api_key": f"sk-{SECRET}"}})
    assert r.status_code == 201
    checked = api.post(f"/api/providers/{r.json()['id']}/validate", admin)
    assert checked.status_code == 200 and checked.json()["ok"] is False
    assert "[redacted]" in checked.text or "Bearer" not in checked.text
    _no_secret(checked.text)
    az = api.post("/api/providers", admin, {"name": "echo-az", "type": "azure", "credentials": {
        "endpoint": echoing_upstream.removesuffix("/v1"), "api_key": f"{SECRET}-az", "api_version": "2024-10-21"}})
    assert az.status_code == 201
    checked = api.post(f"/api/providers/{az.json()['id']}/validate", admin)
    assert checked.status_code == 200
    _no_secret(checked.text)


def test_bad_credentials_are_422_naming_the_field_without_its_value(api: Api) -> None:
    admin = api.register()
    cases = [("openai", {"api_key": 12345}, "api_key"), ("bedrock", {"region": "us-east-1",
             "access_key_id": f"AKIA{SECRET}"}, None), ("azure", {"api_key": SECRET}, "endpoint"),
             ("openai", {"api_key": SECRET, "surprise": SECRET}, "surprise")]
    for ptype, creds, field in cases:
        r = api.post("/api/providers", admin, {"name": "bad", "type": ptype, "credentials": creds})
        assert r.status_code in (400, 422), (ptype, r.status_code, r.text)
        _no_secret(r.text)
        if field is not None:
            assert field in json.dumps(r.json()), r.text


def test_models_reference_their_provider_by_the_id_create_answered(
        api: Api, server: BonitoServer, upstream: FakeOpenAI) -> None:
    admin = api.register()
    provider = api.post("/api/providers", admin, {"name": "p", "type": "openai",
                                                  "credentials": {"base_url": upstream.url, "api_key": "sk-upstream"}})
    pid = provider.json()["id"]
    r = api.post("/api/models", admin, {"name": "house-model", "provider_id": pid, "model": "gpt-4o-mini",
                                        "input_cost_per_mtok": 0.15, "output_cost_per_mtok": 0.6})
    assert r.status_code == 201, r.text
    model = r.json()
    assert model["id"] and model["name"] == "house-model" and model["provider_id"] == pid
    assert model["model"] == "gpt-4o-mini"
    assert float(model["input_cost_per_mtok"]) == 0.15 and float(model["output_cost_per_mtok"]) == 0.6
    assert model["id"] in {m["id"] for m in api.get("/api/models", admin).json()}
    assert api.get(f"/api/models/{model['id']}", admin).json()["provider_id"] == pid
    missing = api.post("/api/models", admin, {"name": "x", "provider_id": "prv_" + "0" * 32, "model": "m"})
    assert missing.status_code in (404, 422) and "provider" in missing.text
    key = api.post("/api/gateway/keys", admin, {"name": "k", "requests_per_minute": 1000,
                                                "allowed_models": ["house-model"]})
    assert key.status_code == 201 and key.json()["key"].startswith("bn-") and key.json()["id"]
    assert key.json()["requests_per_minute"] == 1000
    eventually(lambda: chat(server.url, key.json()["key"], "house-model").status_code == 200, within_s=2.0)
    for listing in (api.get("/api/gateway/keys", admin), api.get(f"/api/gateway/keys/{key.json()['id']}", admin)):
        assert key.json()["key"] not in listing.text
    assert api.delete(f"/api/gateway/keys/{key.json()['id']}", admin).status_code in (200, 204)
    eventually(lambda: chat(server.url, key.json()["key"], "house-model").status_code == 401, within_s=2.0)


@pytest.fixture(scope="module")
def two_orgs(api: Api, upstream: FakeOpenAI) -> tuple[Org, Account]:
    org = api.org_with_key(upstream.url)
    admin = org.admin
    org.extra["policy"] = api.post("/api/routing-policies", admin, {
        "name": "prod", "strategy": "failover", "targets": [{"model": "gpt-4o-mini"}]}).json()
    org.extra["budget"] = api.post("/api/budgets", admin, {"usd": "100", "period": "monthly"}).json()
    org.extra["rule"] = api.post("/api/alert-rules", admin, {"name": "r", "kind": "error_rate", "threshold": 50,
                                                             "channels": ["in_app"]}).json()
    org.extra["webhook"] = api.post("/api/alert-webhooks", admin, {"url": "http://127.0.0.1:9/hook"}).json()
    org.extra["member"] = api.add_member(admin, "viewer")
    for name in ("policy", "budget", "rule", "webhook"):
        assert org.extra[name].get("id"), (name, org.extra[name])
    return org, api.org_with_key(upstream.url).admin


def _other_org_calls(o: Org) -> list[tuple[str, str, dict[str, Any] | None]]:
    pid, mid, kid = o.provider["id"], o.model["id"], o.key["id"]
    rid, bid = o.extra["policy"]["id"], o.extra["budget"]["id"]
    ruid, wid, uid = o.extra["rule"]["id"], o.extra["webhook"]["id"], o.extra["member"].user_id
    return [
        ("GET", f"/api/providers/{pid}", None), ("POST", f"/api/providers/{pid}/validate", None),
        ("GET", f"/api/providers/{pid}/catalog", None), ("PATCH", f"/api/providers/{pid}", {"name": "x"}),
        ("DELETE", f"/api/providers/{pid}", None),
        ("GET", f"/api/models/{mid}", None), ("PATCH", f"/api/models/{mid}", {"enabled": False}),
        ("DELETE", f"/api/models/{mid}", None),
        ("GET", f"/api/gateway/keys/{kid}", None), ("PATCH", f"/api/gateway/keys/{kid}", {"name": "x"}),
        ("POST", f"/api/gateway/keys/{kid}/rotate", None), ("DELETE", f"/api/gateway/keys/{kid}", None),
        ("GET", f"/api/routing-policies/{rid}", None), ("POST", f"/api/routing-policies/{rid}/test", None),
        ("DELETE", f"/api/routing-policies/{rid}", None),
        ("GET", f"/api/budgets/{bid}", None), ("DELETE", f"/api/budgets/{bid}", None),
        ("PATCH", f"/api/alert-rules/{ruid}", {"enabled": False}), ("DELETE", f"/api/alert-rules/{ruid}", None),
        ("DELETE", f"/api/alert-webhooks/{wid}", None),
        ("PATCH", f"/api/org/members/{uid}", {"role": "admin"}), ("DELETE", f"/api/org/members/{uid}", None),
    ]


def test_another_orgs_objects_are_404_exactly_like_objects_that_never_existed(
        api: Api, two_orgs: tuple[Org, Account]) -> None:
    org, outsider = two_orgs
    for method, path, body in _other_org_calls(org):
        theirs = api.http.request(method, path, headers=outsider.headers, json=body)
        nowhere = api.http.request(method, path.replace("_", "_0", 1), headers=outsider.headers, json=body)
        assert theirs.status_code == 404, (method, path, theirs.status_code, theirs.text)
        assert nowhere.status_code == 404 and theirs.content == nowhere.content, (method, path)
    # their objects are untouched and referencing them from outside is 404 as well
    assert api.get(f"/api/providers/{org.provider['id']}", org.admin).status_code == 200
    assert api.get(f"/api/gateway/keys/{org.key['id']}", org.admin).json()["revoked_at"] is None
    for method, path, body in [
        ("POST", "/api/models", {"name": "stolen", "provider_id": org.provider["id"], "model": "m"}),
        ("POST", "/api/budgets", {"scope": "key", "key_id": org.key["id"], "usd": "1"}),
    ]:
        r = api.http.request(method, path, headers=outsider.headers, json=body)
        assert r.status_code in (404, 422) and r.status_code != 403, (path, r.text)
    for path in ("/api/providers", "/api/models", "/api/gateway/keys", "/api/routing-policies", "/api/budgets",
                 "/api/alert-rules", "/api/alert-webhooks", "/api/org/members", "/api/gateway/logs",
                 "/api/gateway/usage", "/api/audit"):
        text = api.get(path, outsider).text
        for oid in (org.provider["id"], org.model["id"], org.key["id"], org.extra["policy"]["id"],
                    org.extra["budget"]["id"], org.extra["rule"]["id"], org.extra["webhook"]["id"]):
            assert oid not in text, (path, oid)


def test_routing_policies_create_list_and_dry_run_without_an_upstream_call(
        api: Api, upstream: FakeOpenAI) -> None:
    org = api.org_with_key(upstream.url)
    api.post("/api/models", org.admin, {"name": "backup", "provider_id": org.provider["id"], "model": "gpt-4o"})
    r = api.post("/api/routing-policies", org.admin, {
        "name": "production-chat", "strategy": "failover", "retries": {"max_attempts": 3}, "timeout_s": 30,
        "targets": [{"model": "gpt-4o-mini", "weight": 80}, {"model": "backup", "weight": 20}],
        "circuit_breaker": {"failure_threshold": 5, "cooldown_s": 30}})
    assert r.status_code == 201, r.text
    policy = r.json()
    assert policy["id"] and policy["name"] == "production-chat"
    assert policy["id"] in {p["id"] for p in api.get("/api/routing-policies", org.admin).json()}
    sample = {"model": "production-chat", "messages": [{"role": "user", "content": "hi"}]}
    before = len(upstream.requests)
    for body in (None, {}, {"request": sample}, sample):
        plan = api.post(f"/api/routing-policies/{policy['id']}/test", org.admin, body)
        assert plan.status_code == 200, (body, plan.text)
        assert plan.json()["dry_run"] is True
        assert [t["model"] for t in plan.json()["targets"]][:1] == ["gpt-4o-mini"]
    assert len(upstream.requests) == before


def _junk_for(schema: dict[str, Any], spec: dict[str, Any]) -> list[Any]:
    """Bodies of the wrong shape for an operation, plus its own fields filled with hostile values."""
    bodies: list[Any] = [[], None, "text", 0, {"": None}, {"x" * 300: 1}]
    ref = schema.get("$ref", "")
    props = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {}) if ref else {}
    for value in (10**40, -(10**40), 1e308, "🐟\u202e\ufeff名前", "x" * 100_000, {"deep": [[[[{}]]]]}, [None], True):
        bodies.append({name: value for name in props})
    return bodies


def test_no_input_makes_api_answer_5xx_and_missing_fields_are_named(api: Api, server: BonitoServer) -> None:
    admin = api.register()
    spec = api.http.get("/api/openapi.json").json()
    failures: list[str] = []
    for method, path, schema in create_operations(server.url):
        if path.startswith("/api/auth/login"):
            continue  # its own server's throttling is tested elsewhere; fuzzing it here would throttle 127.0.0.1
        raw_bodies = [b"{bad json", b"{\"a\": 1,}", b"\xff\xfe", b"[" * 5000, b"1e999999", b"\"\\ud800\""]
        for raw in raw_bodies:
            r = api.http.request(method, path, content=raw, headers={**admin.headers,
                                                                     "content-type": "application/json"})
            # agent endpoints refuse a user's token (any credential but a bt- token) with 401
            allowed = (400, 401, 404, 409, 413, 422) if path.startswith("/api/agent/") else (400, 404, 409, 413, 422)
            if r.status_code >= 500 or r.status_code not in allowed:
                failures.append(f"{method} {path} raw={raw[:20]!r}: {r.status_code} {r.text[:100]}")
        for body in _junk_for(schema, spec):
            r = api.http.request(method, path, json=body, headers=admin.headers)
            if r.status_code >= 500:
                failures.append(f"{method} {path} body={str(body)[:60]}: {r.status_code} {r.text[:100]}")
    for method, path in operations(server.url):
        for bad_id in ("%F0%9F%90%9F", "a" * 5000, "..%2F..%2Fetc", "%00", "1e999"):
            r = api.http.request(method, path.replace("abc_0123456789", bad_id), headers=admin.headers,
                                 json={} if method in ("POST", "PUT", "PATCH") else None)
            if r.status_code >= 500:
                failures.append(f"{method} {path} id={bad_id[:20]}: {r.status_code} {r.text[:100]}")
    assert not failures, "\n".join(failures[:20])

    # a missing required field is a 4xx naming it
    for path, body, field in [("/api/providers", {"type": "openai", "credentials": {}}, "name"),
                              ("/api/providers", {"name": "p", "credentials": {}}, "type"),
                              ("/api/models", {"name": "m", "model": "x"}, "provider_id"),
                              ("/api/gateway/keys", {}, "name"),
                              ("/api/routing-policies", {"name": "r"}, "targets")]:
        r = api.post(path, admin, body)
        assert r.status_code in (400, 422), (path, r.status_code)
        assert field in {str(p) for e in r.json()["detail"] for p in e["loc"]}, (path, r.text)
    r = api.http.post("/api/auth/register", json={"email": "a@b.example", "org_name": "x"})
    assert r.status_code == 422 and "password" in r.text
