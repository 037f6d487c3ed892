"""A full-mode server with one registered admin, and a CLI in a fresh temp HOME per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import Cli
from tests.control.helpers import Account, Api
from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    srv = BonitoServer(tmp_path_factory.mktemp("cli-server")).start(wait=False)
    try:
        srv.wait_healthy(timeout_s=60)  # a loaded machine may take a while to migrate a fresh database
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def admin(api: Api) -> Account:
    return api.register()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home)
