"""A Bonito server over the fake upstream, shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import basic_config
from tests.support.server import BonitoServer


@pytest.fixture(scope="module")
def server(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    workdir: Path = tmp_path_factory.mktemp("bonito")
    with BonitoServer(workdir, basic_config(upstream.url)) as srv:
        yield srv
