"""Usage store tests run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import SKIP_REASON, PostgresServer, find_bin_dir


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    if find_bin_dir() is None:
        pytest.skip(SKIP_REASON)
    server = PostgresServer.start_new()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bonito.db'}"
    server: PostgresServer = request.getfixturevalue("pg")
    return server.create_database(f"usage_{tmp_path.name[-12:].lower().replace('-', '_')}")
