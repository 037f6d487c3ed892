"""A config-mode server over the fake upstream with attribution tags and an /api account in its org;
migrated usage stores on SQLite and PostgreSQL for the cost reports."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bonito.store.db import make_engine, migrate
from tests.control.helpers import Api
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.postgres import PostgresServer
from tests.support.server import BonitoServer

DATA_KEY = "bn-data-team-key-0001"
OTHER_KEY = "bn-other-team-key-0002"
ADMIN = ("costs@example.com", "a long enough password")


def tagged_config(upstream_url: str) -> str:
    return f"""\
version: 1
providers:
  local-openai:
    type: openai
    base_url: {upstream_url}
    api_key: sk-upstream
models:
  gpt-4o-mini:
    provider: local-openai
    model: gpt-4o-mini
    input_cost_per_mtok: 0.15
    output_cost_per_mtok: 0.60
    cached_input_cost_per_mtok: 0.075
  pricey:
    provider: local-openai
    model: upstream-pricey
    input_cost_per_mtok: 250000
    output_cost_per_mtok: 0
tags: [team, project]
keys:
  - name: data-team
    key: {DATA_KEY}
    tags: {{team: data}}
    budget: {{usd: 3, period: monthly, tag: {{project: atlas}}}}
  - name: other
    key: {OTHER_KEY}
"""


@pytest.fixture(scope="module")
def tagged_server(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    workdir: Path = tmp_path_factory.mktemp("costs-config")
    with BonitoServer(workdir, tagged_config(upstream.url)) as srv:
        subprocess.run([sys.executable, "-m", "bonito", "admin", "create", "--email", ADMIN[0], "--password",
                        ADMIN[1]], cwd=workdir, check=True, capture_output=True, timeout=60)
        yield srv


@pytest.fixture(scope="module")
def admin_token(tagged_server: BonitoServer) -> Iterator[str]:
    client = Api(tagged_server.url)
    r = client.login(*ADMIN)
    assert r.status_code == 200, r.text
    yield r.json()["access_token"]
    client.close()


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    server = PostgresServer.start_new()  # PostgreSQL missing is a failure here, never a skip
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated usage store on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'bonito.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg")
        url = server.create_database(f"costs_{tmp_path.name[-12:].lower().replace('-', '_')}")
    eng = make_engine(url)
    await migrate(eng)
    yield eng
    await eng.dispose()
