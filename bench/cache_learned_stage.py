"""Would a learned second stage beat the shipped one? Grouped cross-validation of models over pair features.

    python bench/cache_learned_stage.py        # needs scikit-learn (the `test` extra)

The features all come from the encoder pass a lookup already makes (no second model): the sentence cosine,
BERTScore-style alignment of the contextual word pieces in both directions (minimum, mean, over content words
only, count under 0.6/0.7/0.8, second worst), the near-miss rules as flags, length ratio, Jaccard and the count
of unshared content words. Models are fitted on the labelled QQP dev pairs with cosine >= 0.7, out of fold
(folds grouped: questions linked by a labelled pair stay together), and scored retrieval-style exactly as
bench/cache_semantic.py does; the shipped rules + alignment and the rules alone are printed beside them.
The answer so far is no (docs/cache.md, "Semantic matching quality").
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cache_semantic as harness

from bonito.cache.semantic.encoder import builtin_encoder
from bonito.cache.semantic.nearmiss import STOPWORDS, WORD, asks_for, negations, numbers, unshared_names

TRAIN_FLOOR = 0.7
FOLDS = 5
_ALNUM = re.compile(r"[a-z0-9]")


def content(pieces: np.ndarray, text: str, encoder: Any) -> np.ndarray:
    """Which word pieces are part of a word that is no stop word (continuations follow their head)."""
    tokens = encoder._tok.encode(text).tokens[1:-1]
    out, word = [], ""
    for i, p in enumerate(tokens):
        if not p.startswith("##"):
            j, word = i + 1, p
            while j < len(tokens) and tokens[j].startswith("##"):
                word += tokens[j][2:]
                j += 1
        out.append(bool(_ALNUM.search(p)) and word not in STOPWORDS)
    return np.array(out[:len(pieces)], dtype=bool)


def features(query: str, cached: str, cosine: float, pairs: harness.Pairs,
             masks: dict[str, np.ndarray]) -> list[float]:
    q, c = pairs.pieces[query].astype(np.float32), pairs.pieces[cached].astype(np.float32)
    sims = q @ c.T if len(q) and len(c) else np.zeros((1, 1), dtype=np.float32)
    best_q, best_c = sims.max(axis=1), sims.max(axis=0)
    mq, mc = masks[query], masks[cached]
    cq = best_q[mq] if mq.any() and len(mq) == len(best_q) else best_q
    cc = best_c[mc] if mc.any() and len(mc) == len(best_c) else best_c
    both = np.sort(np.concatenate([cq, cc]))
    qw, cw = WORD.findall(query), WORD.findall(cached)
    ql, cl = {w.lower() for w in qw}, {w.lower() for w in cw}
    return [cosine, best_q.min(), best_c.min(), best_q.mean(), best_c.mean(), cq.min(), cc.min(), cq.mean(),
            cc.mean(), (both < 0.6).sum(), (both < 0.7).sum(), (both < 0.8).sum(),
            both[1] if len(both) > 1 else both[0], numbers(qw) != numbers(cw), negations(qw) != negations(cw),
            asks_for(qw) != asks_for(cw), bool(unshared_names(qw, cw) or unshared_names(cw, qw)),
            min(len(q), len(c)) / max(1, len(q), len(c)), len(ql & cl) / max(1, len(ql | cl)),
            len({w for w in ql ^ cl if w not in STOPWORDS})]


def models() -> dict[str, Callable[[], Any]]:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic regression": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
        "boosted trees, depth 2": lambda: GradientBoostingClassifier(
            n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8, random_state=0),
        "boosted trees, depth 3": lambda: GradientBoostingClassifier(
            n_estimators=300, max_depth=3, learning_rate=0.03, subsample=0.8, random_state=0),
    }


def summary(pairs: harness.Pairs, served: dict[str, tuple[str, float]]) -> str:
    """Precision at the recall levels that matter, and the most recall at precision 0.95 (out of fold)."""
    points = [harness.retrieval(pairs, served, pairs.queries, t) for t in sorted({s for _, s in served.values()},
                                                                                  reverse=True)]
    parts = []
    for level in (0.10, 0.15):
        at = next((p for p in points if p.recall >= level), None)
        if at is not None:
            parts.append(f"at recall {level:.2f}: precision {at.precision:.3f} ({at.right} right, {at.wrong} wrong)")
    best = max((p.recall for p in points if p.precision >= 0.95 and p.right >= 50), default=0.0)
    return "; ".join(parts) + f"; most recall at precision 0.95: {best:.3f}"


def main() -> None:
    rows = harness.load(harness.DATA, "qqp")
    encoder = builtin_encoder()
    texts = sorted({r["a"] for r in rows} | {r["b"] for r in rows})
    vectors_file = harness.ROOT / "bench" / "results" / "cache_vectors.npz"
    vectors_file.parent.mkdir(parents=True, exist_ok=True)
    pairs = harness.Pairs(rows, *harness.embed(encoder, texts, vectors_file))
    masks = {t: content(pairs.pieces[t], t, encoder) for t in texts}
    fold_of = harness.groups(pairs, FOLDS, seed=7)
    near = harness.candidates(pairs, pairs.queries)
    train = [(r["b"], r["a"], float(pairs.vectors[r["a"]] @ pairs.vectors[r["b"]]), r["duplicate"]) for r in rows]
    train = [t for t in train if t[2] >= TRAIN_FLOOR]
    x = np.array([features(b, a, c, pairs, masks) for b, a, c, _ in train], dtype=np.float64)
    y = np.array([t[3] for t in train])
    fold = np.array([fold_of[t[0]] for t in train])
    cand_x = {(b, a): features(b, a, c, pairs, masks) for b in pairs.queries for a, c in near[b]}
    print(f"{len(train)} labelled pairs with cosine >= {TRAIN_FLOOR}; retrieval out of fold, {FOLDS} grouped folds")
    for name, score in (("rules + alignment (shipped)", harness.second_stage(pairs)),
                        ("rules alone", harness.second_stage(pairs, alignment=False))):
        print(f"{name}: {summary(pairs, harness.serves(near, score))}")
    for name, make in models().items():
        served: dict[str, tuple[str, float]] = {}
        for k in range(FOLDS):
            model = make().fit(x[fold != k], y[fold != k])
            for b in (q for q in pairs.queries if fold_of[q] == k and near[q]):
                p = model.predict_proba(np.array([cand_x[(b, a)] for a, _ in near[b]]))[:, 1]
                i = int(np.argmax(p))
                served[b] = (near[b][i][0], float(p[i]))
        print(f"{name}: {summary(pairs, served)}")


if __name__ == "__main__":
    main()
