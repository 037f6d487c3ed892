"""Shared fixtures: a fake OpenAI-compatible upstream and helpers to run Bonito."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.control.helpers import Api  # noqa: E402
from tests.fakes.openai_upstream import FakeOpenAI  # noqa: E402
from tests.support.server import BonitoServer  # noqa: E402

SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "providers"


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(upstream: FakeOpenAI) -> Iterator[FakeOpenAI]:
    upstream.reset()
    yield upstream
    upstream.reset()


@pytest.fixture(scope="module")
def api(server: BonitoServer) -> Iterator[Api]:
    """An /api client for the full-mode `server` its module or package defines (some define their own `api`)."""
    client = Api(server.url)
    yield client
    client.close()
