"""The agent's durable spool on its own: order, acknowledgement across reopen, a line cut by
kill -9, segments removed once delivered, the size bound."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from bonito.agent.spool import Spool


def _lines(n: int, start: int = 0) -> list[bytes]:
    return [b'{"n":%d}' % i for i in range(start, start + n)]


def test_records_come_back_in_order_until_acknowledged_also_after_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=64)  # tiny segments: batches cross files
    assert spool.append(_lines(10)) == 10 and spool.depth == 10
    got, cursor = spool.read(4)
    assert got == _lines(4) and cursor is not None
    again, _ = spool.read(4)  # not acknowledged: the same batch again
    assert again == got
    spool.ack(cursor, len(got))
    assert spool.depth == 6
    spool.close()

    reopened = Spool(tmp_path, segment_bytes=64)
    assert reopened.depth == 6
    out: list[bytes] = []
    while True:
        batch, cur = reopened.read(3)
        if cur is None:
            break
        out += batch
        reopened.ack(cur, len(batch))
    assert out == _lines(6, 4) and reopened.depth == 0
    reopened.append(_lines(2, 10))
    assert reopened.read(10)[0] == _lines(2, 10)
    assert len(list(tmp_path.glob("*.jsonl"))) <= 2  # delivered segments are gone
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o600}  # private to the agent


def test_a_line_cut_by_a_crash_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(_lines(3))
    spool.close()
    seg = next(tmp_path.glob("*.jsonl"))
    seg.write_bytes(seg.read_bytes() + b'{"n":99, "cut')  # kill -9 mid-write
    reopened = Spool(tmp_path)
    assert reopened.depth == 3
    reopened.append(_lines(1, 3))
    assert reopened.read(10)[0] == _lines(4)


def test_a_full_spool_refuses_with_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    with caplog.at_level(logging.ERROR, logger="bonito.agent"):
        assert spool.append(_lines(5)) == 5
        assert spool.append(_lines(20)) == 0 and spool.full
        assert spool.append(_lines(20)) == 0
    assert len([r for r in caplog.records if "spool full" in r.message]) == 1
    batch, cursor = spool.read(100)
    assert cursor is not None
    spool.ack(cursor, len(batch))
    assert spool.depth == 0
