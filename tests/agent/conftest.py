"""One control plane (`bonito serve`, full mode, SQLite) and a fake OpenAI upstream per module;
agents are started by the tests themselves."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.control.helpers import Account, Api
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

PLATFORM_ADMIN = "platform-boss@example.com"
CONTROL_PLANE_ONLY_KEY = "sk-held-by-the-control-plane"  # what the org stored; the agent must never get it
AGENT_UPSTREAM_KEY = "sk-upstream"  # the fake upstream's key: only the agent's own config has it


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    upstream = FakeOpenAI(api_key=AGENT_UPSTREAM_KEY).start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("control-plane"), env={"ADMIN_EMAILS": PLATFORM_ADMIN}) as srv:
        yield srv


@pytest.fixture(scope="module")
def api(control: BonitoServer) -> Iterator[Api]:
    client = Api(control.url)
    yield client
    client.close()


def local_config(upstream_url: str) -> str:
    """The agent's own bonito.yaml: the org's provider `local-openai` with a credential from the env."""
    return (f"providers:\n  local-openai:\n    type: openai\n    base_url: {upstream_url}\n"
            "    api_key: ${AGENT_UPSTREAM_KEY}\n")


def issue_token(api: Api, admin: Account, overlap_s: int | None = None) -> str:
    body = {} if overlap_s is None else {"overlap_s": overlap_s}
    r = api.post(f"/api/orgs/{admin.org_id}/agent/token", admin, body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert set(out) >= {"id", "token", "created_at"} and out["token"].startswith("bt-")
    return str(out["token"])


def ingest(base: str, token: str, records: list[Any]) -> httpx.Response:
    return httpx.post(base + "/api/agent/ingest", content=gzip.compress(orjson.dumps({"records": records})),
                      headers={"authorization": f"Bearer {token}", "content-encoding": "gzip",
                               "content-type": "application/json"}, timeout=30)


def logs(api: Api, admin: Account, **params: Any) -> list[dict[str, Any]]:
    """Every log item of the admin's org (all pages)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        r = api.get("/api/gateway/logs", admin, params=q)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
