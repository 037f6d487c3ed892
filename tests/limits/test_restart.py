"""Spend survives a restart of a single-process gateway: budgets are seeded from recorded usage."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.fakes.openai_upstream import FakeOpenAI
from tests.limits.configs import BUDGET_KEY, MESSAGES, limits_config
from tests.support.server import BonitoServer


def chat(server: BonitoServer) -> int:
    return httpx.post(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {BUDGET_KEY}"},
                      json={"model": "quarter", "messages": MESSAGES}, timeout=10).status_code


def test_budget_spend_counts_across_a_restart(upstream: FakeOpenAI, tmp_path: Path) -> None:
    config = limits_config(upstream.url, None)
    with BonitoServer(tmp_path, config) as first:
        assert [chat(first) for _ in range(3)] == [200, 200, 200]  # $0.75 of $1
    with BonitoServer(tmp_path, config) as second:
        assert [chat(second) for _ in range(2)] == [200, 429]
