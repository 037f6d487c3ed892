"""A throwaway PostgreSQL server for tests, started from the local binaries.

    pg = PostgresServer.start_new()          # or the `postgres` fixture
    url = pg.create_database("bonito_a")     # postgresql+asyncpg://...
    pg.stop()

Finds initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin; initdb in a
temporary directory, listens on a free port on 127.0.0.1 with its unix socket
in that directory. PostgreSQL refuses to run as root, so as root the server
runs as the `postgres` user (through runuser or su). `find_bin_dir()` is None
when no PostgreSQL is installed: callers skip with `SKIP_REASON`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.ports import free_port

SKIP_REASON = "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin"
USER = "bonito"


def find_bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")) and os.path.exists(os.path.join(candidate, "pg_ctl")):
            return Path(candidate)
    return None


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]


class PostgresServer:
    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.port = port
        self.data = root / "data"
        self.log = root / "postgres.log"

    @classmethod
    def start_new(cls) -> PostgresServer:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(SKIP_REASON)
        # not under pytest's 0700 tmp dirs: the postgres user must reach it
        root = Path(tempfile.mkdtemp(prefix="bonito-pg-"))
        os.chmod(root, 0o755)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        server = cls(bin_dir, root, free_port())
        server._initdb()
        server._start()
        return server

    def _run(self, *args: str) -> None:
        cmd = _as_postgres([str(self.bin_dir / args[0]), *args[1:]])
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:1])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}")

    def _initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-locale",
                  "--no-sync")

    def _start(self) -> None:
        opts = (f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c synchronous_commit=off "
                f"-c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.log), "-w", "-t", "60", "start")

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user=USER, database="postgres")
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(create())
        else:  # called from async code (e.g. an async test): run on a thread of its own
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, create()).result()
        return self.url(name)

    def pause(self) -> None:
        """Stop the server but keep its data: the database is unreachable until `resume()`."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._start()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
