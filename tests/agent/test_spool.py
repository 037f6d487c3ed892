"""The durable spool the agent keeps its usage in (the same `bonito.usage.spool` that `bonito serve`'s
writer uses during a database outage): order, delivery across reopen, a line cut by kill -9,
segments removed once delivered, the size bound, and two processes' segments never read while
their writer lives."""

from __future__ import annotations

import logging
import multiprocessing
import stat
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from bonito.usage.spool import DiskSpool


def _lines(n: int, start: int = 0) -> list[bytes]:
    return [b'{"n":%d}' % i for i in range(start, start + n)]


def _drain(spool: DiskSpool) -> list[bytes]:
    out: list[bytes] = []
    while (segment := spool.claim_oldest(own=True)) is not None:
        out += segment.lines
        spool.ack(segment)
    return out


def test_records_come_back_in_order_until_delivered_also_after_reopen(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path, segment_bytes=16)  # tiny segments: one file per append
    for first in range(0, 10, 2):
        assert spool.append_lines(_lines(2, first)) == 2
    assert spool.records == 10 and len(list(tmp_path.glob("*.jsonl"))) == 5
    held = spool.claim_oldest()
    assert held is not None and held.lines == _lines(2)
    second = spool.claim_oldest()  # the oldest is held by the claim above: the next one
    assert second is not None and second.lines == _lines(2, 2)
    spool.release(held)
    spool.release(second)
    spool.close()

    reopened = DiskSpool(tmp_path, segment_bytes=16)
    reopened.scan()
    assert reopened.records == 10
    seg = reopened.claim_oldest()
    assert seg is not None and seg.lines == _lines(2)
    reopened.release(seg)  # delivery failed: the same records again, first
    assert _drain(reopened) == _lines(10) and reopened.records == 0
    reopened.append_lines(_lines(2, 10))
    assert _drain(reopened) == _lines(2, 10)
    assert not list(tmp_path.glob("*.jsonl"))  # delivered segments are gone
    reopened.append_lines(_lines(1))
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o600}  # private to the agent


def test_a_line_cut_by_a_crash_is_never_read_and_the_rest_kept(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.append_lines(_lines(3))
    spool.close()
    seg = next(tmp_path.glob("*.jsonl"))
    seg.write_bytes(seg.read_bytes() + b'{"n":99, "cut')  # kill -9 mid-write
    reopened = DiskSpool(tmp_path)
    reopened.scan()
    assert reopened.records == 3
    reopened.append_lines(_lines(1, 3))
    assert _drain(reopened) == _lines(4)
    assert reopened.records == 0


def test_records_as_dicts_for_the_gateway_writer(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.append([{"id": "a", "n": 1}, {"id": "b", "n": 2}])
    spool.seal()
    with tmp_path.joinpath("usage-0-0.jsonl").open("wb") as fh:  # older, with an unreadable line
        fh.write(b'{"id": "z"}\nnot json\n')
    seg = spool.claim_oldest()
    assert seg is not None and seg.records == [{"id": "z"}]
    spool.ack(seg)
    seg = spool.claim_oldest()
    assert seg is not None and [r["id"] for r in seg.records] == ["a", "b"]


def test_a_full_spool_refuses_with_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = DiskSpool(tmp_path, max_bytes=100)
    with caplog.at_level(logging.ERROR, logger="bonito.usage"):
        assert spool.append_lines(_lines(5)) == 5
        assert spool.append_lines(_lines(20)) == 0 and spool.full
        assert spool.append_lines(_lines(20)) == 0
    assert len([r for r in caplog.records if "is full" in r.message]) == 1
    assert _drain(spool) == _lines(5)
    assert spool.records == 0 and not spool.full and spool.dropped == 40
    assert spool.append_lines(_lines(1)) == 1


def _write_and_hold(directory: Path, ready: Connection) -> None:
    spool = DiskSpool(directory)
    spool.append_lines(_lines(2))
    ready.send(True)
    time.sleep(60)  # still writing, as far as anyone can tell


def test_a_segment_another_live_process_writes_is_not_claimed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    writer = ctx.Process(target=_write_and_hold, args=(tmp_path, theirs))
    writer.start()
    try:
        assert ours.poll(30) and ours.recv()
        assert DiskSpool(tmp_path).claim_oldest(own=True) is None  # its writer lives
    finally:
        writer.kill()  # kill -9: the lock dies with the process
        writer.join(30)
    assert _drain(DiskSpool(tmp_path)) == _lines(2)


def test_an_earlier_agent_versions_spool_is_taken_over_undelivered_records_first(tmp_path: Path) -> None:
    from bonito.agent.state import StateDir

    state = StateDir(tmp_path)
    spool = state.spool_dir
    spool.mkdir()
    (spool / "000000000001.jsonl").write_bytes(b"".join(line + b"\n" for line in _lines(3)))  # delivered
    (spool / "000000000002.jsonl").write_bytes(b"".join(line + b"\n" for line in _lines(4, 3)))
    (spool / "000000000003.jsonl").write_bytes(b"".join(line + b"\n" for line in _lines(2, 7)))
    (spool / "ack").write_text(f"2 {len(_lines(1, 3)[0]) + 1}")  # the first record of segment 2 delivered too
    newer = DiskSpool(spool)
    newer.append_lines(_lines(1, 100))
    newer.close()
    assert state.adopt_legacy_spool() == 5
    assert sorted(p.name.split("-")[0] for p in spool.iterdir()) == ["usage"] * 3
    assert _drain(DiskSpool(spool)) == [*_lines(5, 4), *_lines(1, 100)]
