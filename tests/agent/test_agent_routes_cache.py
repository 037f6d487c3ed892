"""What the shared gateway serves from a routing policy or a key's settings, a VPC agent serves alike:
rules and every other route field travel with the pulled config, and the agent answers repeats from its
own response cache (its --config turns it on) while honouring each key's and the org's cache switch."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.agent.conftest import AGENT_UPSTREAM_KEY, CONTROL_PLANE_ONLY_KEY, issue_token, local_config
from tests.agent.support import AgentProcess
from tests.control.helpers import Api, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

SYNC_S = 1.0
PREMIUM = {"x-bonito-metadata": '{"tier": "premium"}'}


def _chat(agent: AgentProcess, key: str, model: str, text: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{agent.url}/v1/chat/completions", headers={"authorization": f"Bearer {key}", **headers},
                      json={"model": model, "messages": [{"role": "user", "content": text}]}, timeout=30)


def test_the_agent_serves_route_rules_and_caches_per_key(
        api: Api, control: BonitoServer, fake: FakeOpenAI, tmp_path: Path) -> None:
    org = api.org_with_key(fake.url, api_key=CONTROL_PLANE_ONLY_KEY)
    r = api.post("/api/models", org.admin, {"name": "backup", "provider_id": org.provider["id"], "model": "gpt-4o"})
    assert r.status_code == 201, r.text
    r = api.post("/api/routing-policies", org.admin, {
        "name": "front", "targets": [{"model": "gpt-4o-mini"}, {"model": "backup"}], "attempt_timeout_s": 7,
        "rules": [{"name": "vip", "when": {"field": "metadata.tier", "op": "eq", "value": "premium"},
                   "targets": ["backup"]}]})
    assert r.status_code == 201, r.text
    uncached = api.post("/api/gateway/keys", org.admin, {"name": "no-cache", "cache": False})
    assert uncached.status_code == 201, uncached.text
    token = issue_token(api, org.admin)
    config = local_config(fake.url) + "cache:\n  exact: {ttl_s: 600}\n"
    agent = AgentProcess(tmp_path, control.url, token=token, config=config, sync_interval=SYNC_S,
                         env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY})
    try:
        agent.start()
        key, no_cache = org.key["key"], uncached.json()["key"]
        eventually(lambda: _chat(agent, no_cache, "front", "warm-up").status_code == 200, within_s=SYNC_S + 10)

        # the rule travelled: a premium request goes to the rule's target, a plain one to the first target
        assert _chat(agent, key, "front", "rules", **PREMIUM).headers["x-bonito-model-used"] == "backup"
        assert _chat(agent, key, "front", "rules, plain").headers["x-bonito-model-used"] == "gpt-4o-mini"

        # the agent's own cache: a repeat is a hit for a caching key, never for a key switched off
        calls = len(fake.requests)
        first, again = _chat(agent, key, "gpt-4o-mini", "cache me"), _chat(agent, key, "gpt-4o-mini", "cache me")
        assert (first.headers["x-bonito-cache"], again.headers["x-bonito-cache"]) == ("miss", "hit")
        assert again.json()["choices"] == first.json()["choices"] and len(fake.requests) == calls + 1
        for _ in range(2):
            assert _chat(agent, no_cache, "gpt-4o-mini", "cache me").headers["x-bonito-cache"] == "miss"
        assert len(fake.requests) == calls + 3

        # the org's own switch turns the agent's cache off within a sync
        r = api.http.put("/api/gateway/config", json={"cache": False}, headers=org.admin.headers)
        assert r.status_code == 200, r.text
        eventually(lambda: "x-bonito-cache" not in _chat(agent, key, "gpt-4o-mini", "cache me").headers,
                   within_s=SYNC_S + 10, step_s=0.5)
    finally:
        agent.stop()
