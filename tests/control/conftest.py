"""Real servers in full mode (no --config): SQLite by default, PostgreSQL via tests/support/postgres."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.control.helpers import Api
from tests.support.postgres import SKIP_REASON, PostgresServer, find_bin_dir
from tests.support.server import BonitoServer


@pytest.fixture(scope="session")
def full_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    """One full-mode server over SQLite for the control tests; each test makes its own orgs."""
    workdir: Path = tmp_path_factory.mktemp("control")
    with BonitoServer(workdir) as srv:
        yield srv


@pytest.fixture(scope="session")
def api(full_server: BonitoServer) -> Iterator[Api]:
    client = Api(full_server.url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if find_bin_dir() is None:
        pytest.skip(SKIP_REASON)
    server = PostgresServer.start_new()
    yield server
    server.stop()
