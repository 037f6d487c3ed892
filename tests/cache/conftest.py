"""A full-mode server (control plane + gateway) with the exact cache on through BONITO_CACHE, one per test
module (tests/conftest.py's `api` talks to it); modules that need another setup define their own `server`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    env = {"BONITO_CACHE": '{"exact": {"ttl_s": 600}}'}
    with BonitoServer(tmp_path_factory.mktemp("cache-full"), env=env) as srv:
        yield srv

