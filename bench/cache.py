"""What the response cache costs a request, measured in process on one core (no HTTP around it).

    python bench/cache.py [--samples 2000] [--redis]

Prints p50/p95 in ms of: an exact miss (lookup + storing the answer), an exact hit, a semantic miss and hit
(embedding one prompt with the built-in encoder, the scan and the near-miss check), an exact hit from Redis
(with --redis: starts a throwaway redis-server), and the memory 10,000 exact entries take, and 10,000 semantic
index entries (vector and the word pieces the alignment check keeps).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bonito.cache.runtime import CachedAnswer, ResponseCache
from bonito.config.schema import CacheConfig
from bonito.snapshot import KeyEntry, Snapshot, empty_snapshot

KEY = KeyEntry(id="k", name="bench", org_id="org-bench", key_hash="h")
ANSWER = CachedAnswer(
    answer={"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "A short answer. " * 8,
                                                 "refusal": None}, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60}},
    model_used="m", provider="p", upstream_model="m", prompt_tokens=20, completion_tokens=40, cost_usd="0.00003")


def body(text: str) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": text}], "temperature": 0}


def snapshot(cfg: dict[str, object], redis_url: str | None = None) -> Snapshot:
    return dataclasses.replace(empty_snapshot(), cache=CacheConfig.model_validate(cfg), redis_url=redis_url)


async def timed(samples: int, step: Callable[[int], Awaitable[None]]) -> tuple[float, float, float]:
    """Wall-clock p50 and p95, and the p50 of CPU time (what one core spends, whatever else runs)."""
    times, cpu = [], []
    for i in range(samples):
        t0, c0 = time.perf_counter(), time.process_time()
        await step(i)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], statistics.median(cpu)


async def exact(cache: ResponseCache, snap: Snapshot, samples: int, label: str) -> None:
    async def miss(i: int) -> None:
        req = cache.begin(snap, KEY, "m", True, "chat", body(f"question {i}"), None)
        assert req is not None and await req.lookup() is None
        await req.save(ANSWER)

    async def hit(i: int) -> None:
        req = cache.begin(snap, KEY, "m", True, "chat", body(f"question {i}"), None)
        assert req is not None and await req.lookup() is not None

    print(f"{label} miss+store  p50 {{:.3f}} ms  p95 {{:.3f}} ms  cpu p50 {{:.3f}} ms".format(*await timed(samples, miss)))
    print(f"{label} hit         p50 {{:.3f}} ms  p95 {{:.3f}} ms  cpu p50 {{:.3f}} ms".format(*await timed(samples, hit)))


async def semantic(samples: int) -> None:
    cache = ResponseCache()
    snap = snapshot({"semantic": {"ttl_s": 600, "max_entries": 2000}})
    topics = ["learn Python", "bake bread", "fix a flat tyre", "write a cover letter", "train for a marathon"]
    warm = cache.begin(snap, KEY, "m", True, "chat", body("warm up the encoder"), None)
    assert warm is not None
    await warm.lookup()  # the first lookup loads the weights: not what a request pays

    async def miss(i: int) -> None:
        req = cache.begin(snap, KEY, "m", True, "chat", body(f"How do I {topics[i % 5]} in {i} days?"), None)
        assert req is not None and await req.lookup() is None
        await req.save(ANSWER)

    async def hit(i: int) -> None:
        req = cache.begin(snap, KEY, "m", True, "chat", body(f"How can I {topics[i % 5]} in {i} days?"), None)
        assert req is not None
        await req.lookup()

    n = min(samples, 300)
    print("semantic miss+store p50 {:.3f} ms  p95 {:.3f} ms  cpu p50 {:.3f} ms".format(*await timed(n, miss)))
    print("semantic lookup     p50 {:.3f} ms  p95 {:.3f} ms  cpu p50 {:.3f} ms  (index of {} entries)".format(
        *await timed(n, hit), n))


async def memory() -> None:
    cache = ResponseCache()
    snap = snapshot({"exact": {"ttl_s": 600, "max_entries": 20_000}})
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(10_000):
        req = cache.begin(snap, KEY, "m", True, "chat", body(f"question {uuid.uuid4().hex} {i}"), None)
        assert req is not None
        await req.save(ANSWER)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"memory for 10,000 exact entries (~{len(ANSWER.dumps())} B answers): {used / 1e6:.1f} MB")


async def semantic_memory() -> None:
    """10,000 index entries of 1,000 distinct ~12-word prompts, stored as a lookup stores them."""
    from bonito.cache.semantic.index import BuiltinEncoder, MemoryVectorIndex, SemanticCache

    enc = BuiltinEncoder()
    prompts = [f"How do I {verb} a {thing} in {i} days without spending much money?"
               for i, (verb, thing) in enumerate((v, t) for v in ("fix", "paint", "sell", "clean", "move")
                                                 for t in ("bike", "car", "house", "boat", "desk") * 40)]
    embedded = [await enc.embed(p) for p in prompts[:1000]]
    cache = SemanticCache(MemoryVectorIndex(), threshold=0.95, ttl_s=600, max_entries=20_000)
    pieces = statistics.mean(len(e.pieces) for e in embedded if e.pieces is not None)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(10_000):
        e = embedded[i % 1000]
        copy = dataclasses.replace(e, vector=e.vector.copy())
        await cache.add("org-bench", "ctx", f"{prompts[i % 1000]} #{i}", uuid.uuid4().hex, enc, copy)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"memory for 10,000 semantic entries (~{pieces:.0f} word pieces each): {used / 1e6:.1f} MB")


async def run(args: argparse.Namespace, redis_url: str | None) -> None:
    await exact(ResponseCache(), snapshot({"exact": {"ttl_s": 600}}), args.samples, "exact (memory)")
    await memory()
    if redis_url is not None:
        cache = ResponseCache()
        await exact(cache, snapshot({"exact": {"ttl_s": 600}}, redis_url), args.samples, "exact (redis) ")
        await cache.aclose()
    if not args.skip_semantic:
        await semantic(args.samples)
        await semantic_memory()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--redis", action="store_true", help="also measure a Redis-backed hit")
    ap.add_argument("--skip-semantic", action="store_true")
    args = ap.parse_args()
    if not args.redis:
        asyncio.run(run(args, None))
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed")
    port = 6399
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--dir", tmp],
                                stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            asyncio.run(run(args, f"redis://127.0.0.1:{port}/0"))
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
