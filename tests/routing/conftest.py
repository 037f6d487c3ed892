"""Three fake OpenAI upstreams (a cheap, b mid, c expensive) and a Bonito server with routes over them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

KEY = "bn-routing-key-0001"
ROUTE_KEY = "rt-routing-key-0002"


@dataclass
class Upstreams:
    a: FakeOpenAI
    b: FakeOpenAI
    c: FakeOpenAI

    def reset(self) -> None:
        for f in (self.a, self.b, self.c):
            f.reset()

    def calls(self) -> tuple[int, int, int]:
        return len(self.a.requests), len(self.b.requests), len(self.c.requests)


def routing_config(up: Upstreams, routes: str) -> str:
    """Providers pa/pb/pc, models a-model (cheap), b-model, c-model (expensive), one key; `routes` appended."""
    return f"""\
version: 1
providers:
  pa: {{type: openai, base_url: "{up.a.url}", api_key: sk-upstream}}
  pb: {{type: openai, base_url: "{up.b.url}", api_key: sk-upstream}}
  pc: {{type: openai, base_url: "{up.c.url}", api_key: sk-upstream}}
models:
  a-model: {{provider: pa, model: model-a, input_cost_per_mtok: 0.1, output_cost_per_mtok: 10}}
  b-model: {{provider: pb, model: model-b, input_cost_per_mtok: 1, output_cost_per_mtok: 1}}
  c-model: {{provider: pc, model: model-c, input_cost_per_mtok: 30, output_cost_per_mtok: 60}}
keys:
  - {{name: routing, key: {KEY}, requests_per_minute: 1000000}}
routes:
{routes}"""


@pytest.fixture(scope="session")
def upstreams() -> Iterator[Upstreams]:
    up = Upstreams(FakeOpenAI().start(), FakeOpenAI().start(), FakeOpenAI().start())
    yield up
    for f in (up.a, up.b, up.c):
        f.stop()


@pytest.fixture
def up(upstreams: Upstreams) -> Iterator[Upstreams]:
    upstreams.reset()
    yield upstreams
    upstreams.reset()


def start_server(tmp_path_factory: pytest.TempPathFactory, up: Upstreams, routes: str) -> BonitoServer:
    workdir: Path = tmp_path_factory.mktemp("routing")
    return BonitoServer(workdir, routing_config(up, routes)).start()
