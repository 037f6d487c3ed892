"""How often the semantic cache serves the right answer: precision, recall and false serves on labelled pairs.

Measured two ways on `../shared/data/cache/` (QQP pairs: `a` is cached, `b` arrives):
- pairwise: a pair is served when its score reaches the threshold;
- retrieval (what users meet): every `a` is cached, every `b` asks; the cache serves the best candidate it
  accepts. A serve is right when that `a` is labelled a duplicate of `b`, wrong when labelled not one;
  precision counts judgeable serves only, serves of unlabelled `a`s are reported beside it.

    python bench/cache_semantic.py                  # the shipped threshold and second stage on dev
    python bench/cache_semantic.py --cv 5           # cross-validated: pick cut + threshold on 4/5, score 1/5
    python bench/cache_semantic.py --curve          # precision/recall over thresholds, each second stage

Folds are grouped: questions linked by a labelled pair stay in one fold, so no text is on both sides.
Embeddings (vectors and word pieces) are kept in `--vectors` (an .npz keyed by the texts and the encoder).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from bonito.cache.semantic.alignment import ALIGNMENT_CUT, Pieces, worst_alignment  # noqa: E402
from bonito.cache.semantic.encoder import DEFAULT_THRESHOLD, MiniLMEncoder, builtin_encoder  # noqa: E402
from bonito.cache.semantic.nearmiss import CANDIDATES, COSINE_FLOOR, refusal  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "cache" / "dev.jsonl"
TARGET_PRECISION = 0.95


@dataclass(frozen=True)
class Pairs:
    rows: list[dict[str, Any]]
    vectors: dict[str, np.ndarray]
    pieces: dict[str, np.ndarray]  # each text's unit word-piece vectors (float16 here, to hold them all)

    @property
    def queries(self) -> list[str]:
        return sorted({r["b"] for r in self.rows})

    @property
    def cached(self) -> list[str]:
        return sorted({r["a"] for r in self.rows})

    def labels(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for r in self.rows:
            out[r["b"]][r["a"]] = int(r["duplicate"])
        return out


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    false_serve: float
    right: int
    wrong: int
    unlabelled: int

    def line(self) -> str:
        return (f"precision {self.precision:.3f}  recall {self.recall:.3f}  false-serve {self.false_serve:.4f}  "
                f"(right {self.right}, wrong {self.wrong}, unlabelled serves {self.unlabelled})")


def load(path: Path = DATA, source: str = "qqp") -> list[dict[str, Any]]:
    return [r for r in (json.loads(line) for line in path.open() if line.strip()) if r["source"] == source]


def embed(encoder: MiniLMEncoder, texts: Sequence[str],
          cache: Path | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every text's vector and word pieces; kept in `cache` (keyed by the texts and the encoder) between runs."""
    # they are a function of the texts and the encoder (its code, graph and weights): all are in the key
    from bonito.cache.semantic import encoder as encoder_module
    from bonito.cache.semantic import minilm_graph

    identity = (Path(encoder_module.__file__).read_bytes() + Path(minilm_graph.__file__).read_bytes()
                + str(encoder.weights_size).encode())
    order = sorted(texts)
    key = hashlib.sha256(identity + "\n".join(order).encode()).hexdigest()[:16]
    if cache is not None and cache.exists():
        saved = np.load(cache, allow_pickle=False)
        if str(saved["key"]) == key:
            cuts = np.cumsum(saved["counts"])[:-1]
            return (dict(zip(order, saved["vectors"], strict=True)),
                    dict(zip(order, np.split(saved["pieces"], cuts), strict=True)))
    vectors, pieces = {}, {}
    for t in order:
        e = encoder.encode(t)
        vectors[t], pieces[t] = e.vector, e.tokens.astype(np.float16)
    if cache is not None:
        np.savez(cache, key=key, vectors=np.stack([vectors[t] for t in order]),
                 pieces=np.concatenate([pieces[t] for t in order]), counts=[len(pieces[t]) for t in order])
    return vectors, pieces


Scorer = Callable[[str, str, float], float]


def candidates(pairs: Pairs, queries: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
    """Each query's nearest cached prompts (top CANDIDATES at or above the cosine floor), as the cache sees them."""
    cached = pairs.cached
    matrix = np.stack([pairs.vectors[a] for a in cached])
    out: dict[str, list[tuple[str, float]]] = {}
    for b in queries:
        sims = matrix @ pairs.vectors[b]
        top = np.argsort(-sims)[:CANDIDATES]
        out[b] = [(cached[i], float(sims[i])) for i in top if sims[i] >= COSINE_FLOOR]
    return out


def serves(near: dict[str, list[tuple[str, float]]], score: Scorer) -> dict[str, tuple[str, float]]:
    """query -> (the cached prompt it would be served, its score), before any threshold."""
    out: dict[str, tuple[str, float]] = {}
    for b, cands in near.items():
        scored = [(a, score(b, a, cos)) for a, cos in cands]
        if scored:
            out[b] = max(scored, key=lambda t: t[1])
    return out


def retrieval(pairs: Pairs, served: dict[str, tuple[str, float]], queries: Sequence[str],
              threshold: float) -> Scores:
    labels = pairs.labels()
    right = wrong = unlabelled = 0
    for b in queries:
        hit = served.get(b)
        if hit is None or hit[1] < threshold:
            continue
        label = labels[b].get(hit[0])
        if label is None:
            unlabelled += 1
        elif label == 1:
            right += 1
        else:
            wrong += 1
    answerable = sum(1 for b in queries if 1 in labels[b].values())
    return Scores(right / max(1, right + wrong), right / max(1, answerable), wrong / max(1, len(queries)),
                  right, wrong, unlabelled)


def pairwise(rows: list[dict[str, Any]], vectors: dict[str, np.ndarray], score: Scorer, threshold: float) -> Scores:
    right = wrong = 0
    for r in rows:
        cos = float(vectors[r["a"]] @ vectors[r["b"]])
        if cos >= COSINE_FLOOR and score(r["b"], r["a"], cos) >= threshold:
            right += int(r["duplicate"] == 1)
            wrong += int(r["duplicate"] == 0)
    dups = sum(1 for r in rows if r["duplicate"] == 1)
    return Scores(right / max(1, right + wrong), right / max(1, dups), wrong / max(1, len(rows) - dups),
                  right, wrong, 0)


def pick_threshold(pairs: Pairs, served: dict[str, tuple[str, float]], queries: Sequence[str],
                   target: float) -> float:
    """The lowest threshold (most recall) whose retrieval precision on `queries` reaches `target`."""
    for t in np.r_[np.arange(0.50, 0.99, 0.005), np.arange(0.99, 0.9999, 0.0005)]:
        s = retrieval(pairs, served, queries, float(t))
        if s.right + s.wrong > 0 and s.precision >= target:
            return round(float(t), 4)
    return 1.0


def second_stage(pairs: Pairs, cut: float = ALIGNMENT_CUT, alignment: bool = True) -> Scorer:
    """The cache's score: the cosine, or 0 when the second stage refuses the pair (as SemanticCache.find)."""
    packed: dict[str, Pieces] = {}

    def score(query: str, cached: str, cosine: float) -> float:
        if refusal(query, cached) is not None:
            return 0.0
        if alignment:
            if cached not in packed:
                packed[cached] = Pieces.pack(pairs.pieces[cached].astype(np.float32))
            if worst_alignment(pairs.pieces[query].astype(np.float32), packed[cached]) < cut:
                return 0.0
        return cosine

    return score


def cosine_only(query: str, cached: str, cosine: float) -> float:
    return cosine


def groups(pairs: Pairs, folds: int, seed: int) -> dict[str, int]:
    """Each text's fold: texts linked by a labelled pair (transitively) share one, so none is on both sides."""
    parent: dict[str, str] = {}

    def root(t: str) -> str:
        while parent.setdefault(t, t) != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for r in pairs.rows:
        parent[root(r["a"])] = root(r["b"])
    comps = sorted({root(t) for t in list(parent)})
    random.Random(seed).shuffle(comps)
    fold = {c: i % folds for i, c in enumerate(comps)}
    return {t: fold[root(t)] for t in parent}


CUTS = (0.0, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8)


def cross_validate(pairs: Pairs, folds: int, seed: int = 7) -> tuple[Scores, list[tuple[float, float]]]:
    """Pick the alignment cut and the threshold on the other folds' queries; score each fold's queries."""
    fold_of = groups(pairs, folds, seed)
    queries = pairs.queries
    near = candidates(pairs, queries)
    served = {cut: serves(near, second_stage(pairs, cut)) for cut in CUTS}
    labels = pairs.labels()
    right = wrong = unlabelled = answerable = 0
    picked = []
    for k in range(folds):
        train = [b for b in queries if fold_of[b] != k]
        test = [b for b in queries if fold_of[b] == k]
        options = [(c, pick_threshold(pairs, served[c], train, TARGET_PRECISION)) for c in CUTS]
        cut, threshold = max(options, key=lambda o: (retrieval(pairs, served[o[0]], train, o[1]).right, -o[0]))
        picked.append((cut, threshold))
        s = retrieval(pairs, served[cut], test, threshold)
        right, wrong, unlabelled = right + s.right, wrong + s.wrong, unlabelled + s.unlabelled
        answerable += sum(1 for b in test if 1 in labels[b].values())
    return Scores(right / max(1, right + wrong), right / max(1, answerable), wrong / max(1, len(queries)),
                  right, wrong, unlabelled), picked


def curve(pairs: Pairs, score: Scorer, thresholds: Sequence[float]) -> list[tuple[float, Scores]]:
    served = serves(candidates(pairs, pairs.queries), score)
    return [(t, retrieval(pairs, served, pairs.queries, t)) for t in thresholds]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--source", default="qqp")
    ap.add_argument("--vectors", type=Path, default=ROOT / "bench" / "results" / "cache_vectors.npz")
    ap.add_argument("--cv", type=int, default=0, help="cross-validate the threshold with this many folds")
    ap.add_argument("--curve", action="store_true", help="precision/recall over a range of thresholds")
    ap.add_argument("--sims", type=Path, help="write each pair's score for the data's score.py (0 = refused)")
    args = ap.parse_args(argv)
    rows = load(args.data, args.source)
    args.vectors.parent.mkdir(parents=True, exist_ok=True)
    pairs = Pairs(rows, *embed(builtin_encoder(), sorted({r["a"] for r in rows} | {r["b"] for r in rows}),
                               args.vectors))
    stages: list[tuple[str, Scorer]] = [
        (f"rules + alignment {ALIGNMENT_CUT} (shipped)", second_stage(pairs)),
        ("rules alone", second_stage(pairs, alignment=False)), ("cosine alone", cosine_only)]
    if args.cv:
        for seed in (7, 11, 13):
            scores, picked = cross_validate(pairs, args.cv, seed)
            print(f"cross-validated ({args.cv} grouped folds, seed {seed}, (cut, threshold) picked {picked}):\n"
                  f"  retrieval {scores.line()}")
    if args.curve:
        grid = [0.90, 0.92, 0.93, 0.94, 0.945, 0.95, 0.955, 0.96, 0.97, 0.98]
        for name, score in stages:
            print(name)
            for t, s in curve(pairs, score, grid):
                print(f"  {t:.3f}  retrieval {s.line()}")
    if args.sims:
        score = second_stage(pairs)
        with args.sims.open("w") as out:
            for r in rows:
                cos = float(pairs.vectors[r["a"]] @ pairs.vectors[r["b"]])
                out.write(json.dumps({"id": r["id"], "similarity": round(score(r["b"], r["a"], cos), 6)}) + "\n")
    near = candidates(pairs, pairs.queries)
    for name, score in stages:
        print(f"{name} at the shipped threshold {DEFAULT_THRESHOLD}:")
        print("  retrieval " + retrieval(pairs, serves(near, score), pairs.queries, DEFAULT_THRESHOLD).line())
        print("  pairwise  " + pairwise(rows, pairs.vectors, score, DEFAULT_THRESHOLD).line())


if __name__ == "__main__":
    main()
