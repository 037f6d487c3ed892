"""A budget crossing 80 % reaches a real SMTP server and a webhook receiver that verifies the
signature; the in-app notification is stored once."""

from __future__ import annotations

import httpx

from tests.alerts.receivers import SmtpReceiver, WebhookReceiver, wait_for
from tests.fakes.openai_upstream import FakeOpenAI
from tests.limits.configs import limits_config
from tests.support.server import BonitoServer

KEY = "bn-alerts-budget-key"
SECRET = "whsec-test-0123456789"


def config(upstream_url: str, smtp_port: int, webhook_url: str) -> str:
    return limits_config(upstream_url, None, extra=f"""\
  - name: team-a
    key: {KEY}
    requests_per_minute: 100
    budget: {{usd: 1.25, period: monthly}}
alerts:
  email:
    to: [ops@example.com]
    smtp: {{host: 127.0.0.1, port: {smtp_port}, from: bonito@example.com}}
  webhooks:
    - url: {webhook_url}
      secret: {SECRET}
""")


def test_budget_crossing_80_percent_sends_email_and_signed_webhook(upstream: FakeOpenAI, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with SmtpReceiver() as smtp, WebhookReceiver(SECRET) as hook, \
            BonitoServer(tmp_path, config(upstream.url, smtp.port, hook.url)) as server:
        client = server.openai(KEY)
        for _ in range(3):  # $0.75 of $1.25: 60 %, past 50 % only
            client.chat.completions.create(model="quarter", messages=[{"role": "user", "content": "Hi"}])
        assert wait_for(lambda: len(hook.deliveries) == 1 and len(smtp.messages) == 1), server.logs()
        client.chat.completions.create(model="quarter", messages=[{"role": "user", "content": "Hi"}])  # $1.00
        assert wait_for(lambda: len(hook.deliveries) == 2 and len(smtp.messages) == 2), server.logs()

        mail = smtp.messages[1]
        assert "Budget 80% reached" in mail["Subject"] and "team-a" in mail["Subject"]
        assert mail["To"] == "ops@example.com" and mail["From"] == "bonito@example.com"
        assert "$1.0000 spent of $1.25" in mail.get_payload()  # type: ignore[operator]

        delivery = hook.deliveries[1]
        assert delivery.signature_ok
        assert delivery.headers["X-Bonito-Event"] == "alert.budget"
        assert delivery.body["type"] == "alert.budget"
        assert delivery.body["data"]["threshold_percent"] == 80
        assert delivery.body["data"]["spend_usd"] == "1"
        assert delivery.body["data"]["name"] == "team-a"
        assert [d.body["data"]["threshold_percent"] for d in hook.deliveries] == [50, 80]

        # the fifth call starts under budget ($1.00 < $1.25) and is served; then 100 % is crossed
        client.chat.completions.create(model="quarter", messages=[{"role": "user", "content": "Hi"}])
        assert wait_for(lambda: len(hook.deliveries) == 3)
        assert hook.deliveries[2].body["data"]["threshold_percent"] == 100
        refused = httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                             json={"model": "quarter", "messages": [{"role": "user", "content": "Hi"}]})
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
