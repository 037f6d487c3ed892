"""bonito_usage_pending_records with several workers: each worker's memory counted once, and the spool directory
they share counted once, not once per worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bonito.observability.metrics import SpoolCount

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys
from bonito.observability.metrics import Metrics
m = Metrics()
assert m.shared_dir, "multiprocess mode"
m.sample(buffered=int(sys.argv[1]), snapshot_version=1, spool_dir=sys.argv[2])
"""  # exits without marking itself dead: its samples stay in the shared files, as a live worker's do

SCRAPE = """
from bonito.observability.metrics import Metrics
print(Metrics().render().decode())
"""


def _segment(spool: Path, name: str, records: int) -> Path:
    path = spool / f"usage-{name}.jsonl"
    path.write_bytes(b"".join(b'{"id": "r%d"}\n' % i for i in range(records)))
    return path


def _run(code: str, *args: str, shared: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout


def _pending(text: str) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name.startswith("bonito_usage_")}


def test_two_workers_sharing_a_spool_count_it_once(tmp_path: Path) -> None:
    shared, spool = tmp_path / "metrics", tmp_path / "spool"
    shared.mkdir()
    spool.mkdir()
    _segment(spool, "00000000000000000001-100", 30)  # left by an earlier run
    _segment(spool, "00000000000000000002-101", 20)
    _run(WORKER, "3", str(spool), shared=shared)
    _run(WORKER, "4", str(spool), shared=shared)
    values = _pending(_run(SCRAPE, shared=shared))
    assert values["bonito_usage_pending_records"] == 3 + 4 + 50  # not 3 + 4 + 2 x 50
    assert values["bonito_usage_buffered_records"] == 7
    assert values["bonito_usage_spooled_records"] == 50


def test_one_process_reports_memory_and_spool_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bonito.observability.metrics import Metrics

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    _segment(tmp_path, "00000000000000000001-100", 12)
    m = Metrics()
    m.sample(buffered=5, snapshot_version=1, spool_dir=tmp_path)
    assert _pending(m.render().decode())["bonito_usage_pending_records"] == 17


def test_the_spool_count_follows_appends_and_deliveries(tmp_path: Path) -> None:
    count = SpoolCount()
    assert count.records(tmp_path / "missing") == 0
    old = _segment(tmp_path, "00000000000000000001-100", 10)
    active = _segment(tmp_path, "00000000000000000002-101", 5)
    (tmp_path / "unrelated.txt").write_bytes(b"\n" * 99)
    assert count.records(tmp_path) == 15
    with active.open("ab") as fh:
        fh.write(b'{"id": "late"}\n{"id": "torn"')  # a line still being written is not a record yet
    assert count.records(tmp_path) == 16
    old.unlink()  # delivered
    assert count.records(tmp_path) == 6


def test_a_large_spool_is_read_a_slice_at_a_time_and_estimated_meanwhile(tmp_path: Path) -> None:
    _segment(tmp_path, "00000000000000000001-100", 4000)  # ~56 KB
    count = SpoolCount(budget_bytes=10_000)  # a slice per call, as the event loop's 4 MB is of a large spool
    first = count.records(tmp_path)
    assert 3600 <= first <= 4400  # estimated from the slice read so far
    for _ in range(10):
        last = count.records(tmp_path)
    assert last == 4000  # read through: exact
