"""Smart routing's scorer: time per prompt on one core, memory it adds, and what an idle gateway loads.

    .venv/bin/python bench/smart_scorer.py [--data ../shared/data/routing/dev.jsonl] [--repeat 3]

Pins itself to one CPU, scores every dev prompt `--repeat` times with the
built-in scorer (the same call the gateway makes) and prints the median and
p99 per prompt. Memory: resident set size before and after loading the
weights and scoring, in this process. Lazy loading: a fresh interpreter that
imports the gateway and plans a request on a non-smart route must not have
read the weights.

    .venv/bin/python bench/smart_scorer.py --encoder 64 --limit 300

measures instead the candidate that was not shipped (docs/routing.md): the
semantic extra's all-MiniLM-L6-v2 encoder over the first `--limit` dev
prompts truncated to `--encoder` tokens, CPU per prompt and memory added.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

LAZY_CHECK = """
import bonito.gateway.app, bonito.routing.router
from bonito.routing import scoring
print(scoring._built.cache_info().currsize)
"""


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "routing" / "dev.jsonl")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--encoder", type=int, default=0, help="measure the MiniLM encoder at this many tokens")
    ap.add_argument("--limit", type=int, default=0, help="only the first N prompts")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    prompts = [json.loads(line)["prompt"] for line in args.data.read_text(encoding="utf-8").split("\n")
               if line.strip()][:args.limit or None]
    if args.encoder:
        encoder_cost(prompts, args.encoder)
        return
    before = rss_kb()
    from bonito.routing.complexity import complexity

    complexity("warm up")
    loaded = rss_kb()
    times: list[float] = []
    cpu0 = time.process_time()
    for _ in range(args.repeat):
        for p in prompts:
            t0 = time.perf_counter()
            complexity(p)
            times.append((time.perf_counter() - t0) * 1000)
    cpu_ms = (time.process_time() - cpu0) * 1000 / len(times)  # CPU time: unaffected by other processes' load
    times.sort()
    after = rss_kb()
    lazy = subprocess.run([sys.executable, "-c", LAZY_CHECK], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, check=True).stdout.strip()
    print(f"prompts: {len(prompts)} x {args.repeat}, mean {sum(len(p) for p in prompts) / len(prompts):.0f} chars")
    print(f"score time per prompt (one core): mean {statistics.fmean(times):.3f} ms, "
          f"median {statistics.median(times):.3f} ms, "
          f"p99 {times[int(len(times) * 0.99)]:.3f} ms, max {times[-1]:.3f} ms")
    print(f"CPU time per prompt: {cpu_ms:.3f} ms (wall-clock above includes time other processes took the core)")
    print(f"memory added: {(loaded - before) / 1024:.1f} MB to load, {(after - before) / 1024:.1f} MB after scoring")
    print(f"weights loaded by importing the gateway without a smart request: {'no' if lazy == '0' else 'YES'}")


def encoder_cost(prompts: list[str], max_tokens: int) -> None:
    """CPU per prompt and memory of the full sentence encoder, the candidate measured and not shipped."""
    from bonito.cache.semantic import encoder

    encoder.MAX_TOKENS = max_tokens
    before = rss_kb()
    enc = encoder.MiniLMEncoder()
    enc.embed("warm up")
    loaded = rss_kb()
    cpu0 = time.process_time()
    for p in prompts:
        enc.embed(p)
    cpu_ms = (time.process_time() - cpu0) * 1000 / len(prompts)
    print(f"MiniLM encoder, {len(prompts)} prompts truncated to {max_tokens} tokens: {cpu_ms:.2f} ms CPU per prompt, "
          f"{(loaded - before) / 1024:.0f} MB added to load")


if __name__ == "__main__":
    main()
