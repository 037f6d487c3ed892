"""A real `bonito agent` in front of the fake upstream, pulling from a real control plane through a
recording proxy: it serves the org's keys with its own credentials, its usage shows up with
source vpc_agent, changes made through /api reach it within the sync interval + 5 s, and nothing
it sends carries a prompt, a completion or a credential."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

from tests.agent.conftest import (
    AGENT_UPSTREAM_KEY,
    CONTROL_PLANE_ONLY_KEY,
    PLATFORM_ADMIN,
    issue_token,
    local_config,
    logs,
)
from tests.agent.support import AgentProcess, RecordingProxy
from tests.control.helpers import PASSWORD, Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

SYNC_S = 1.0


def test_agent_serves_reports_follows_changes_and_leaks_nothing(
        api: Api, control: BonitoServer, fake: FakeOpenAI, tmp_path: Path) -> None:
    org = api.org_with_key(fake.url, api_key=CONTROL_PLANE_ONLY_KEY)
    token = issue_token(api, org.admin)
    proxy = RecordingProxy(control.url).start()
    agent = AgentProcess(tmp_path, proxy.url, token=token, config=local_config(fake.url), sync_interval=SYNC_S,
                         env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY})
    try:
        agent.start()
        secret_prompt = f"my-private-prompt-{uuid.uuid4().hex}"
        client = agent.openai(org.key["key"])
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": secret_prompt}])
        answer = raw.parse()
        assert answer.choices[0].message.content == fake.reply
        assert fake.requests[-1].headers["Authorization"] == f"Bearer {AGENT_UPSTREAM_KEY}"  # the agent's own
        streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": secret_prompt}], stream=True,
            stream_options={"include_usage": True}) if c.choices)
        assert streamed == fake.reply
        assert chat(agent.url, "bn-not-a-key").status_code == 401
        ids = {raw.headers["x-request-id"]}

        # usage: the same tables, source vpc_agent, within 30 s
        def landed() -> bool:
            return len([i for i in logs(api, org.admin) if i["source"] == "vpc_agent" and i["status"] == 200]) == 2
        eventually(landed, within_s=30, step_s=0.5)
        items = logs(api, org.admin)
        assert ids <= {i["request_id"] for i in items}
        assert {i["model_used"] for i in items if i["status"] == 200} == {"gpt-4o-mini"}
        assert api.get("/api/gateway/usage", org.admin).json()["requests"] >= 2
        rows = list(csv.DictReader(io.StringIO(api.get("/api/gateway/logs", org.admin,
                                                        params={"format": "csv"}).text)))
        assert {r["source"] for r in rows} >= {"vpc_agent"}

        # a key created through /api serves on the agent within the interval + 5 s; revoked, it stops
        created = api.post("/api/gateway/keys", org.admin, {"name": "made-later"}).json()
        eventually(lambda: chat(agent.url, created["key"]).status_code == 200, within_s=SYNC_S + 5, step_s=0.2)
        assert api.delete(f"/api/gateway/keys/{created['id']}", org.admin).status_code == 204
        eventually(lambda: chat(agent.url, created["key"]).status_code == 401, within_s=SYNC_S + 5, step_s=0.2)

        # its status, for the org's admins and the platform's
        def reported() -> bool:
            found = api.get(f"/api/orgs/{org.admin.org_id}/agent", org.admin).json()["agents"]
            return len(found) == 1 and found[0]["requests"] >= 4 and found[0]["spool_depth"] == 0
        eventually(reported, within_s=15, step_s=0.3)
        a = api.get(f"/api/orgs/{org.admin.org_id}/agent", org.admin).json()["agents"][0]
        assert a["status"] == "connected" and a["version"] and a["hostname"] and a["config_version"]
        assert a["providers"] == {"local-openai": "ok"}
        assert a["id"] == (agent.state_dir / "agent-id").read_text().strip()
        boss = api.register(email=PLATFORM_ADMIN) if api.login(PLATFORM_ADMIN).status_code != 200 else None
        access = boss.access if boss else api.login(PLATFORM_ADMIN, PASSWORD).json()["access_token"]
        every = api.get("/api/admin/agents", access).json()["agents"]
        assert {"org_id": org.admin.org_id, "id": a["id"]}.items() <= next(
            x for x in every if x["id"] == a["id"]).items()
        assert api.get("/api/admin/agents", org.admin).status_code == 403

        # the cached config is private to the agent
        for name in ("config.json", "agent-id"):
            assert stat.S_IMODE(os.stat(agent.state_dir / name).st_mode) == 0o600
    finally:
        agent.stop()
        proxy.stop()

    # every byte the agent sent: only the agent endpoints, no prompt, completion or credential
    assert {s.path.split("?")[0] for s in proxy.sent} <= {"/api/agent/config", "/api/agent/ingest",
                                                          "/api/agent/heartbeat"}
    assert any(s.path == "/api/agent/ingest" for s in proxy.sent)
    forbidden = [secret_prompt, fake.reply, "Hello from the fake", AGENT_UPSTREAM_KEY, CONTROL_PLANE_ONLY_KEY,
                 org.key["key"], created["key"], "Hi there"]
    for s in proxy.sent:
        for word in forbidden:
            assert word.encode() not in s.body, (s.path, word)
            assert all(word not in v for v in s.headers.values()), (s.path, word)


def test_a_bad_command_line_is_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("BONITO_CONTROL_PLANE", "BONITO_ORG_TOKEN")}
    r = subprocess.run([sys.executable, "-m", "bonito", "agent", "--token", "bt-x"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--control-plane" in r.stderr and not r.stdout
    r = subprocess.run([sys.executable, "-m", "bonito", "agent", "--control-plane", "http://127.0.0.1:9"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "token" in r.stderr
    bad = tmp_path / "agent.yaml"
    bad.write_text("providers:\n  p:\n    type: openai\n    api_key: ${NOT_SET_ANYWHERE}\n")
    r = subprocess.run([sys.executable, "-m", "bonito", "agent", "--control-plane", "http://127.0.0.1:9",
                        "--token", "bt-x", "--config", str(bad)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "NOT_SET_ANYWHERE" in r.stderr and "Traceback" not in r.stderr


def test_a_provider_the_agent_cannot_build_is_reported_and_the_rest_serves(
        api: Api, control: BonitoServer, fake: FakeOpenAI, tmp_path: Path) -> None:
    org = api.org_with_key(fake.url)
    azure = api.post("/api/providers", org.admin, {"name": "corp-azure", "type": "azure", "credentials": {
        "endpoint": "https://corp.openai.azure.com", "api_key": "azure-secret-held-centrally"}})
    assert azure.status_code == 201, azure.text
    with AgentProcess(tmp_path, control.url, token=issue_token(api, org.admin), config=local_config(fake.url),
                      env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY}) as agent:
        assert chat(agent.url, org.key["key"]).status_code == 200

        def reported() -> bool:
            found = api.get(f"/api/orgs/{org.admin.org_id}/agent", org.admin).json()["agents"]
            return bool(found) and "corp-azure" in (found[0].get("config_error") or "")
        eventually(reported, within_s=15, step_s=0.3)
        assert "corp-azure" in agent.logs() and "azure-secret-held-centrally" not in agent.logs()


def test_a_record_the_control_plane_refuses_is_set_aside_and_the_rest_flows(
        api: Api, control: BonitoServer, fake: FakeOpenAI, tmp_path: Path) -> None:
    org = api.org_with_key(fake.url)
    agent = AgentProcess(tmp_path, control.url, token=issue_token(api, org.admin), config=local_config(fake.url),
                         env={"AGENT_UPSTREAM_KEY": AGENT_UPSTREAM_KEY})
    spool = agent.state_dir / "spool"
    spool.mkdir(parents=True)
    # left by another agent version: a record no control plane accepts, ahead of good ones
    (spool / "usage-00000000000000000001-1.jsonl").write_bytes(b'{"id": "not a valid id!", "request_id": "poison"}\n')
    with agent:
        sent = [chat(agent.url, org.key["key"], **{"x-request-id": f"good-{i}"}).headers["x-request-id"]
                for i in range(3)]
        eventually(lambda: sorted(i["request_id"] for i in logs(api, org.admin)) == sent, within_s=30, step_s=0.5)
        eventually(lambda: any(agent.state_dir.glob("rejected-*.jsonl")), within_s=5)
        rejected = next(agent.state_dir.glob("rejected-*.jsonl")).read_bytes()
        assert b"poison" in rejected and b"good-" not in rejected
        assert stat.S_IMODE(os.stat(next(agent.state_dir.glob("rejected-*.jsonl"))).st_mode) == 0o600
