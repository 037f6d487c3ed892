#!/usr/bin/env python3
"""Re-fit the smart router's built-in scorer from the labelled dev prompts, and write its weights.

    python scripts/fit_smart_router.py                        # writes the package's weight files
    python scripts/fit_smart_router.py --out DIR              # writes them elsewhere (tests compare)
    python scripts/fit_smart_router.py --cv                   # also prints cross-validated APGR/CPT50

Data: ../shared/data/routing/dev.jsonl (override with --data). Each prompt is
labelled by how the strong model did against the weak one: better, the same or
worse (scores in [0, 1] count as different when they differ by more than
MARGIN). A three-way logistic regression over the hashed n-grams, shape and
structure numbers of `bonito.routing.scoring.features` is fitted with C=0.3;
the score is P(better) - P(worse), the expected gain in correctness. Cross-
validation (docs/routing.md) chose this over one "strong right and weak wrong"
label (+2 to +4 points of APGR on unseen prompts) and C=0.3 over 0.1 and 1.
Needs numpy, scipy and scikit-learn (the `test` extra).
Deterministic: the same data gives the same weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from bonito.routing.scoring.features import N_FEATURES, features
from bonito.routing.scoring.lexical import CLASSES, MODEL_FILE, WEIGHTS_FILE

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "routing" / "dev.jsonl"
PACKAGE_DIR = ROOT / "src" / "bonito" / "routing" / "scoring"
C = 0.3
N_QUANTILES = 200
# two scores in [0, 1] closer than this count as the same result
MARGIN = 0.1


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def matrix(texts: list[str]) -> sparse.csr_matrix:
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for text in texts:
        f = features(text)
        indices.extend(f)
        data.extend(f.values())
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(data), np.array(indices), np.array(indptr)),
                             shape=(len(texts), N_FEATURES))


def label(rows: list[dict[str, Any]]) -> np.ndarray:
    """-1, 0 or 1: the strong model did worse than the weak one, the same, or better."""
    gap = np.array([float(r["strong_correct"]) - float(r["weak_correct"]) for r in rows])
    return np.where(gap > MARGIN, 1, np.where(gap < -MARGIN, -1, 0))


def fit(x: sparse.csr_matrix, y: np.ndarray, tol: float = 1e-8) -> LogisticRegression:
    """The shipped fit converges tightly (tol 1e-8) so a re-fit reproduces the weights to 1e-4."""
    return LogisticRegression(C=C, max_iter=5000, tol=tol).fit(x, y)


def gain(model: LogisticRegression, x: sparse.csr_matrix) -> np.ndarray:
    """P(strong better) - P(strong worse) per row of `x`."""
    p = model.predict_proba(x)
    classes = list(model.classes_)
    return p[:, classes.index(1)] - p[:, classes.index(-1)]


def write(rows: list[dict[str, Any]], data_path: Path, out: Path) -> None:
    x, y = matrix([r["prompt"] for r in rows]), label(rows)
    model = fit(x, y)
    if list(model.classes_) != list(CLASSES):
        sys.exit("error: the data needs prompts where the strong model did better, the same and worse")
    weights = model.coef_.astype("<f4")  # one row per class, in CLASSES order
    z = x @ weights.astype(np.float64).T + model.intercept_
    p = np.exp(z - z.max(axis=1, keepdims=True))
    g = (p[:, 2] - p[:, 0]) / p.sum(axis=1)
    q25, center, q75 = np.percentile(g, [25, 50, 75])
    scale = float(q75 - q25) / 2
    # the score distribution on the dev prompts: `strong_share` turns a traffic share into a threshold with it
    scores = 1.0 / (1.0 + np.exp(-(g - center) / scale))
    quantiles = np.percentile(scores, np.linspace(0, 100, N_QUANTILES + 1))
    out.mkdir(parents=True, exist_ok=True)
    (out / WEIGHTS_FILE).write_bytes(weights.tobytes())
    meta = {
        "features": "bonito.routing.scoring.features v2", "n_features": N_FEATURES,
        "classes": list(CLASSES), "intercepts": [float(b) for b in model.intercept_],
        "center": float(center), "scale": scale, "quantiles": [round(float(q), 6) for q in quantiles],
        "label": "strong model worse / same / better than the weak one", "margin": MARGIN,
        "C": C, "data_sha256": hashlib.sha256(data_path.read_bytes()).hexdigest(), "rows": len(rows),
    }
    (out / MODEL_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def cross_validate(rows: list[dict[str, Any]], data_path: Path) -> None:
    """Out-of-fold scores, scored by the data's own score.py: folds grouped by source/category (no topic
    seen in training), then plain shuffled folds (unseen prompts on seen topics)."""
    sys.path.insert(0, str(data_path.parent))
    from score import Curve  # the evaluation's own metric code

    x, y = matrix([r["prompt"] for r in rows]), label(rows)
    groups = [f"{r['source']}/{r.get('category', '')}" for r in rows]
    strong = [float(r["strong_correct"]) for r in rows]
    weak = [float(r["weak_correct"]) for r in rows]
    length = Curve(strong, weak, [float(len(r["prompt"])) for r in rows])
    print(f"length baseline: APGR {length.apgr():.3f}, CPT50 {100 * length.cpt(0.5):.1f}%")
    # shuffled three times: one shuffle's figure moves by about a point from seed to seed
    splits = (("grouped by source/category", GroupKFold(n_splits=5).split(x, groups=groups)),
              *((f"shuffled (seed {seed})", KFold(n_splits=5, shuffle=True, random_state=seed).split(x))
                for seed in (0, 1, 2)))
    for name, folds in splits:
        oof = np.zeros(len(rows))
        for train, test in folds:
            oof[test] = gain(fit(x[train], y[train]), x[test])
        curve = Curve(strong, weak, list(oof))
        per_source = ", ".join(
            f"{s} {Curve(*([v[i] for i in idx] for v in (strong, weak, list(oof)))).apgr():.3f}"
            for s in sorted({r["source"] for r in rows})
            for idx in [[i for i, r in enumerate(rows) if r["source"] == s]])
        print(f"5-fold CV, {name}: APGR {curve.apgr():.3f}, CPT50 {100 * curve.cpt(0.5):.1f}% "
              f"(APGR per source: {per_source})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=PACKAGE_DIR)
    ap.add_argument("--cv", action="store_true", help="also print grouped cross-validated APGR/CPT50")
    args = ap.parse_args()
    rows = load(args.data)
    write(rows, args.data, args.out)
    print(f"wrote {args.out / WEIGHTS_FILE} and {args.out / MODEL_FILE} from {len(rows)} prompts")
    if args.cv:
        cross_validate(rows, args.data)


if __name__ == "__main__":
    main()
