"""Several worker processes behind one port, and a clean stop."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY, basic_config
from tests.support.server import BonitoServer
from tests.support.usage_db import wait_rows


def test_two_workers_serve_and_record_every_request(tmp_path: Path, fake: FakeOpenAI) -> None:
    srv = BonitoServer(tmp_path, basic_config(fake.url), workers=2).start()
    try:
        client = srv.openai(KEY)
        for i in range(20):
            r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
                                               extra_headers={"x-request-id": f"w-{i}"})
            assert r.choices[0].message.content == fake.reply
    finally:
        assert srv.stop() == 0
    rows = wait_rows(tmp_path, "request_id LIKE 'w-%'", count=20, timeout_s=2)
    assert len(rows) == 20
