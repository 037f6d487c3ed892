"""A full-mode server (no --config: SQLite under its own ./.bonito/) and an /api client, one per test module.

Modules that need another server (config mode, fake upstreams) define their own `server`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("contract-full")) as srv:
        yield srv

