"""The governance API on a full-mode server: limits, budgets, alert rules, notifications,
preferences and webhooks; changes serve traffic within two seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.alerts.receivers import WebhookReceiver
from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with BonitoServer(tmp_path_factory.mktemp("governance"), env={"BONITO_JWT_SECRET": "x" * 40}) as srv:
        client = Api(srv.url)
        yield client
        client.close()


def test_org_limit_set_through_the_api_applies_to_keys_without_their_own(api: Api, upstream: FakeOpenAI) -> None:
    org = api.org_with_key(upstream.url)
    key = org.key["key"]
    eventually(lambda: chat(api.base, key).status_code == 200, within_s=3)
    r = api.http.put("/api/limits", headers=org.admin.headers, json={"requests_per_minute": 2})
    assert r.status_code == 200, r.text
    assert r.json()["requests_per_minute"] == 2 and r.json()["tier"] == "enterprise"

    def capped() -> bool:
        return chat(api.base, key).status_code == 429

    eventually(capped, within_s=3)
    refused = chat(api.base, key)
    assert refused.json()["error"]["type"] == "rate_limit_exceeded"
    assert "organization" in refused.json()["error"]["message"]
    assert api.get("/api/limits", org.admin).json()["requests_per_minute"] == 2


def test_budget_rule_notification_and_read_state(api: Api, upstream: FakeOpenAI) -> None:
    org = api.org_with_key(upstream.url)
    key, admin = org.key["key"], org.admin
    rule = api.post("/api/alert-rules", admin, {"name": "nearly", "kind": "budget", "threshold": 90,
                                                "channels": ["in_app"]})
    assert rule.status_code == 201 and rule.json()["id"]
    eventually(lambda: chat(api.base, key).status_code == 200, within_s=3)  # the key is served: $0.00000435
    # a budget counts the whole period's spend, including calls made before it was set:
    # the next call starts at 54 % and is served, passing 100 %; then calls are refused
    budget = api.post("/api/budgets", admin, {"scope": "key", "key_id": org.key["id"], "usd": "0.000008",
                                              "period": "daily"})
    assert budget.status_code == 201, budget.text
    assert budget.json()["id"] and budget.json()["period"] == "daily"
    time.sleep(1.5)  # the budget reaches every replica's limiter within the poll
    statuses = [chat(api.base, key).status_code for _ in range(3)]
    assert statuses == [200, 429, 429], statuses
    refused = chat(api.base, key)
    assert refused.json()["error"]["code"] == "budget_exceeded"

    def notified() -> bool:
        return api.get("/api/notifications/unread-count", admin).json()["unread"] >= 2

    eventually(notified, within_s=5)
    page = api.get("/api/notifications", admin, params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    titles = [n["title"] for n in api.get("/api/notifications", admin).json()["items"]]
    # 54 % -> 108 %: the default 80 and 100 % thresholds, and the org's own 90 % rule
    assert sorted(t.split(":")[0] for t in titles) == ["Budget 100% reached", "Budget 80% reached",
                                                       "Budget 90% reached"]
    first = page["items"][0]
    assert api.post(f"/api/notifications/{first['id']}/read", admin).json() == {"marked": 1}
    unread = api.get("/api/notifications", admin, params={"unread": "true"}).json()["items"]
    assert first["id"] not in [n["id"] for n in unread]
    # "mark all" marks what the inbox shows: muted kinds are left as they were
    prefs = api.get("/api/notification-preferences", admin).json()
    muted = api.http.put("/api/notification-preferences", headers=admin.headers,
                         json={**prefs, "muted_kinds": ["budget"]})
    assert muted.status_code == 200, muted.text
    assert api.post("/api/notifications/read", admin, {}).json()["marked"] == 0
    assert api.http.put("/api/notification-preferences", headers=admin.headers, json=prefs).status_code == 200
    assert api.get("/api/notifications/unread-count", admin).json() == {"unread": len(unread)}
    assert api.post("/api/notifications/read", admin, {}).json()["marked"] == len(unread)
    assert api.get("/api/notifications/unread-count", admin).json() == {"unread": 0}
    # the budget view sums recorded usage, which reaches the database within seconds
    eventually(lambda: float(api.get(f"/api/budgets/{budget.json()['id']}", admin).json()["percent_used"]) >= 100,
               within_s=10)

    other = api.register()
    assert api.get(f"/api/budgets/{budget.json()['id']}", other).status_code == 404
    assert api.post(f"/api/notifications/{first['id']}/read", other).status_code == 404
    assert api.get("/api/notifications/unread-count", other).json() == {"unread": 0}


def test_preferences_webhooks_and_validation(api: Api) -> None:
    user = api.register()
    assert api.get("/api/notification-preferences", user).json()["email"] is True
    prefs = {"email": False, "in_app": True, "weekly_digest": False, "muted_kinds": ["latency"]}
    assert api.http.put("/api/notification-preferences", headers=user.headers, json=prefs).json() == prefs
    assert api.get("/api/notification-preferences", user).json() == prefs

    hook = api.post("/api/alert-webhooks", user, {"url": "http://127.0.0.1:9/hook"})
    assert hook.status_code == 201 and hook.json()["secret"].startswith("whsec_")
    listed = api.get("/api/alert-webhooks", user).json()
    assert listed[0]["id"] == hook.json()["id"] and "secret" not in listed[0]

    bad = api.post("/api/budgets", user, {"scope": "key", "usd": "5"})
    assert bad.status_code == 422
    bad = api.post("/api/alert-rules", user, {"name": "x", "kind": "nope", "threshold": 1})
    assert bad.status_code == 422 and "kind" in str(bad.json()["detail"][0]["loc"])
    assert api.post("/api/budgets", user, {"scope": "key", "key_id": "key_missing", "usd": "5"}).status_code == 422
    huge = api.post("/api/budgets", user, {"usd": 10_000_000})  # past what spend is counted in (picodollars)
    assert huge.status_code == 422 and "usd" in huge.text
    assert httpx.get(api.base + "/api/budgets").status_code == 401


def test_governance_changes_are_in_the_audit_log_without_secrets(api: Api) -> None:
    admin = api.register()
    token_url = "http://127.0.0.1:9/hook?token=hunter2-webhook-token"
    hook = api.post("/api/alert-webhooks", admin, {"url": token_url}).json()
    budget = api.post("/api/budgets", admin, {"scope": "org", "usd": "25", "period": "monthly"}).json()
    rule = api.post("/api/alert-rules", admin, {"name": "errors", "kind": "error_rate", "threshold": 0.2}).json()
    assert api.http.patch(f"/api/alert-rules/{rule['id']}", headers=admin.headers,
                          json={"enabled": False}).status_code == 200
    assert api.http.put("/api/limits", headers=admin.headers, json={"requests_per_minute": 100}).status_code == 200
    for path in (f"/api/alert-rules/{rule['id']}", f"/api/budgets/{budget['id']}",
                 f"/api/alert-webhooks/{hook['id']}"):
        assert api.delete(path, admin).status_code == 204

    events = api.get("/api/audit", admin, params={"limit": 100}).json()["items"]
    done = {(e["action"], e["target_id"]) for e in events}
    assert {("webhook.create", hook["id"]), ("webhook.delete", hook["id"]), ("budget.create", budget["id"]),
            ("budget.delete", budget["id"]), ("alert_rule.create", rule["id"]), ("alert_rule.update", rule["id"]),
            ("alert_rule.delete", rule["id"])} <= done
    assert any(e["action"] == "limits.update" for e in events)
    assert all(e["actor_email"] == admin.email for e in events if e["action"] != "auth.register")
    export = api.get("/api/audit/export", admin).text
    assert hook["secret"] not in export and "hunter2" not in export


def test_a_webhook_can_be_sent_a_signed_test_event(api: Api) -> None:
    admin, other = api.register(), api.register()
    with WebhookReceiver(secret="whsec_" + "s" * 40) as receiver:
        good = api.post("/api/alert-webhooks", admin, {"url": receiver.url, "secret": receiver.secret}).json()
        r = api.post(f"/api/alert-webhooks/{good['id']}/test", admin)
        assert r.status_code == 200 and r.json() == {"delivered": True, "error": None}, r.text
        (delivery,) = receiver.deliveries
        assert delivery.signature_ok and delivery.body["type"] == "alert.test"
        assert delivery.headers["X-Bonito-Event"] == "alert.test"

        wrong = api.post("/api/alert-webhooks", admin, {"url": receiver.url, "secret": "whsec_" + "w" * 40}).json()
        r = api.post(f"/api/alert-webhooks/{wrong['id']}/test", admin)
        assert r.json()["delivered"] is False and "401" in r.json()["error"]
        assert len(receiver.deliveries) == 2 and not receiver.deliveries[1].signature_ok
    assert api.post(f"/api/alert-webhooks/{good['id']}/test", other).status_code == 404


def test_a_budget_changed_in_place_applies_to_traffic(api: Api, upstream: FakeOpenAI) -> None:
    org = api.org_with_key(upstream.url)
    key, admin = org.key["key"], org.admin
    eventually(lambda: chat(api.base, key).status_code == 200, within_s=3)  # spends $0.00000435
    budget = api.post("/api/budgets", admin, {"scope": "key", "key_id": org.key["id"], "usd": "100"}).json()
    path = f"/api/budgets/{budget['id']}"

    def patch(body: dict[str, object], who: object = admin) -> httpx.Response:
        return api.http.patch(path, headers=who.headers, json=body)  # type: ignore[attr-defined]

    r = patch({"usd": "0.000004", "throttle": {"at_percent": 50, "requests_per_minute": 10}})
    assert r.status_code == 200, r.text
    assert (r.json()["usd"], r.json()["throttle"]["requests_per_minute"]) == ("0.000004", 10)
    assert r.json()["period"] == "monthly" and r.json()["id"] == budget["id"]
    eventually(lambda: chat(api.base, key).json().get("error", {}).get("code") == "budget_exceeded", within_s=3)

    r = patch({"remove_throttle": True, "hard": False})
    assert r.status_code == 200 and r.json()["throttle"] is None and r.json()["hard"] is False
    eventually(lambda: chat(api.base, key).status_code == 200, within_s=3)  # a soft cap only alerts
    assert api.get(path, admin).json()["usd"] == "0.000004"

    for bad, field in (({"usd": "0"}, "usd"), ({"usd": "-3"}, "usd"),
                       ({"remove_throttle": True, "throttle": {"requests_per_minute": 5}}, "throttle")):
        r = patch(bad)
        assert r.status_code == 422 and field in r.text, r.text
    assert patch({"usd": "1"}, api.register()).status_code == 404
    updates = api.get("/api/audit", admin, params={"action": "budget.update"}).json()["items"]
    assert len(updates) == 2 and all(e["target_id"] == budget["id"] for e in updates)
