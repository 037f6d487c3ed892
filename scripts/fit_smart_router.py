#!/usr/bin/env python3
"""Re-fit the smart router's built-in scorer from the labelled dev prompts, and write its weights.

    python scripts/fit_smart_router.py                        # writes the package's weight files
    python scripts/fit_smart_router.py --out DIR              # writes them elsewhere (tests compare)
    python scripts/fit_smart_router.py --cv                   # also prints grouped cross-validation

Data: ../shared/data/routing/dev.jsonl (override with --data). The label is
"the strong model answered right and the weak one wrong" (the calls where the
strong model earns its price); a logistic regression over the hashed n-grams,
shape and structure numbers of `bonito.routing.scoring.features` is fitted with C=0.3: cross-validation
(folds grouped by source/category, and shuffled) scored it above 0.1 once the structure numbers joined
(n-grams alone: 0.1 among 0.03, 0.1, 0.3 and 1). Needs numpy, scipy and scikit-learn (the `test` extra).
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
from bonito.routing.scoring.lexical import MODEL_FILE, WEIGHTS_FILE

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "routing" / "dev.jsonl"
PACKAGE_DIR = ROOT / "src" / "bonito" / "routing" / "scoring"
C = 0.3
N_QUANTILES = 200


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
    return np.array([1.0 if r["strong_correct"] >= 0.5 and r["weak_correct"] < 0.5 else 0.0 for r in rows])


def fit(x: sparse.csr_matrix, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=5000, tol=1e-8).fit(x, y)


def write(rows: list[dict[str, Any]], data_path: Path, out: Path) -> None:
    x, y = matrix([r["prompt"] for r in rows]), label(rows)
    model = fit(x, y)
    weights = model.coef_[0].astype("<f4")
    z = x @ weights.astype(np.float64) + float(model.intercept_[0])
    q25, center, q75 = np.percentile(z, [25, 50, 75])
    scale = float(q75 - q25) / 2
    # the score distribution on the dev prompts: `strong_share` turns a traffic share into a threshold with it
    scores = 1.0 / (1.0 + np.exp(-(z - center) / scale))
    quantiles = np.percentile(scores, np.linspace(0, 100, N_QUANTILES + 1))
    out.mkdir(parents=True, exist_ok=True)
    (out / WEIGHTS_FILE).write_bytes(weights.tobytes())
    meta = {
        "features": "bonito.routing.scoring.features v2", "n_features": N_FEATURES,
        "intercept": float(model.intercept_[0]), "center": float(center), "scale": scale,
        "quantiles": [round(float(q), 6) for q in quantiles], "label": "strong right and weak wrong",
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
    splits = (("grouped by source/category", GroupKFold(n_splits=5).split(x, groups=groups)),
              ("shuffled", KFold(n_splits=5, shuffle=True, random_state=0).split(x)))
    for name, folds in splits:
        oof = np.zeros(len(rows))
        for train, test in folds:
            oof[test] = fit(x[train], y[train]).decision_function(x[test])
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
