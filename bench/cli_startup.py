"""How fast `bonito` starts: `bonito --help` and `bonito whoami` (the budget is 0.3 s each).

Runs each command N times (whoami against a closed port, so no server time is counted), and prints
the best and median wall time and the CPU time, then the heaviest imports of `whoami`
(`python -X importtime`).

Usage: python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {"bonito --help": [str(BIN / "bonito"), "--help"], "bonito whoami": [str(BIN / "bonito"), "whoami"],
            "python -c pass": [sys.executable, "-c", "pass"]}
ENV = {**os.environ, "BONITO_URL": "http://127.0.0.1:9", "BONITO_TOKEN": "x"}


def measure(cmd: list[str], runs: int) -> tuple[float, float, float]:
    """(best wall, median wall, median CPU) in seconds."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=ENV, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def heaviest_imports(top: int = 12) -> list[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c",
                          "from bonito.cli.main import main; main(['whoami'])"],
                         capture_output=True, text=True, env=ENV, check=False).stderr
    rows = []
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return [f"{us / 1000:8.1f} ms  {name}" for us, name in sorted(rows, reverse=True)[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'command':<16} {'best':>8} {'median':>8} {'cpu':>8}")
    for name, cmd in COMMANDS.items():
        best, median, cpu = measure(cmd, args.runs)
        print(f"{name:<16} {best:8.3f} {median:8.3f} {cpu:8.3f}")
    print("\nheaviest imports of `bonito whoami` (cumulative):")
    print("\n".join(heaviest_imports()))


if __name__ == "__main__":
    main()
