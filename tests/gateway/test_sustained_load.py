"""Sustained traffic while the usage store cannot keep up: memory stays flat and no record is lost.

The store is throttled for real: another connection holds SQLite's write lock, so every insert
waits and then fails, as with a locked or unreachable database. The gateway keeps answering; its
records go to the on-disk spool within seconds instead of piling up in memory; after a SIGTERM
(exit within 30 s) or a kill -9, a restart writes every answered request's record exactly once.
"""

from __future__ import annotations

import itertools
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY, basic_config
from tests.support.server import BonitoServer
from tests.support.usage_db import usage_rows, wait_rows


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _serving_and_recording(srv: BonitoServer, tag: str) -> None:
    """One request recorded: the store is migrated and the writer running (before the lock is taken)."""
    srv.openai(KEY).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                            extra_headers={"x-request-id": f"{tag}-first"})
    wait_rows(srv.workdir, "request_id = ?", (f"{tag}-first",), timeout_s=30)


@contextmanager
def _store_locked(workdir: Path) -> Iterator[None]:
    """Hold SQLite's write lock from another connection: every insert by the server is refused."""
    con = sqlite3.connect(workdir / ".bonito" / "bonito.db", timeout=30, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        con.execute("ROLLBACK")
        con.close()


class Load:
    """Client threads sending chat requests, each with its own x-request-id, noting every 200."""

    def __init__(self, srv: BonitoServer, tag: str, threads: int = 6) -> None:
        self.srv, self.tag, self.threads = srv, tag, threads
        self.answered: list[str] = []
        self.stop = threading.Event()
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        client = self.srv.openai(KEY, timeout=30)
        while not self.stop.is_set():
            rid = f"{self.tag}-{next(self._ids)}"
            try:
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                               extra_headers={"x-request-id": rid})
            except Exception:
                continue  # refused while stopping: not answered, so no record is owed
            with self._lock:
                self.answered.append(rid)

    def __enter__(self) -> Load:
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for w in self._workers:
            w.join(40)


def _spooled_records(workdir: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in (workdir / ".bonito" / "spool").glob("usage-*.jsonl"))


def _recorded_once(workdir: Path, tag: str, answered: list[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        rows = usage_rows(workdir, "request_id LIKE ?", (f"{tag}-%",))
        counts = {}
        for r in rows:
            counts[r["request_id"]] = counts.get(r["request_id"], 0) + 1
        if all(rid in counts for rid in answered):
            break
        time.sleep(0.5)
    missing = [rid for rid in answered if rid not in counts]
    twice = {rid: n for rid, n in counts.items() if n > 1}
    assert not missing, f"{len(missing)} of {len(answered)} answered requests have no usage record"
    assert not twice, f"records written twice: {list(twice.items())[:5]}"


def test_store_locked_under_load_memory_flat_sigterm_then_restart_writes_every_record_once(
        tmp_path: Path, fake: FakeOpenAI) -> None:
    srv = BonitoServer(tmp_path, basic_config(fake.url)).start()
    assert srv.proc is not None
    pid = srv.proc.pid
    _serving_and_recording(srv, "load-a")
    with _store_locked(tmp_path):
        with Load(srv, "load-a") as load:
            time.sleep(8)
            early_rss, early_n = _rss_mb(pid), len(load.answered)
            time.sleep(16)
            late_rss, late_n = _rss_mb(pid), len(load.answered)
            # records are on disk, not in memory: all but the last few seconds' worth
            rate = (late_n - early_n) / 16
            assert _spooled_records(tmp_path) >= late_n - 6 * rate - 500, (_spooled_records(tmp_path), late_n)
            started = time.monotonic()
            srv.signal(signal.SIGTERM)
        code = srv.stop(timeout_s=40)
        took = time.monotonic() - started
    assert code == 0 and took < 30, (code, took, srv.logs()[-2000:])
    assert late_n - early_n > 500, "the load generator did not get going"
    # memory flat: what 16 s of answered requests would take if held in memory is not added
    assert late_rss - early_rss < 25, (early_rss, late_rss, late_n - early_n)
    with BonitoServer(tmp_path, basic_config(fake.url)):
        _recorded_once(tmp_path, "load-a", load.answered)


def test_kill_9_during_a_store_outage_loses_at_most_the_last_unsynced_seconds(
        tmp_path: Path, fake: FakeOpenAI) -> None:
    srv = BonitoServer(tmp_path, basic_config(fake.url)).start()
    _serving_and_recording(srv, "load-k")
    with _store_locked(tmp_path):
        with Load(srv, "load-k", threads=4) as load:
            time.sleep(6)
        time.sleep(3)  # past the spool's cadence: every answered request's record is on disk
        srv.signal(signal.SIGKILL)
        srv.stop()
    assert len(load.answered) > 100, "the load generator did not get going"
    # the restart writes what the killed process had spooled, each once
    with BonitoServer(tmp_path, basic_config(fake.url)):
        _recorded_once(tmp_path, "load-k", load.answered)
