"""The built-in scorer: a logistic regression over hashed lexical features, weights shipped with the package.

Fitted by `scripts/fit_smart_router.py` on labelled prompts (strong vs weak
model correctness); the weights (256 KB of float32) load on the first score,
so a process without a smart route never reads them.
"""

from __future__ import annotations

import json
import math
import sys
from array import array
from importlib import resources

from bonito.routing.scoring.features import N_FEATURES, features

WEIGHTS_FILE = "lexical_weights.f32"
MODEL_FILE = "lexical_model.json"


class LexicalScorer:
    """Scores a prompt in about a tenth of a millisecond; deterministic, in [0, 1]."""

    name = "builtin"

    def __init__(self) -> None:
        files = resources.files("bonito.routing.scoring")
        meta = json.loads(files.joinpath(MODEL_FILE).read_text(encoding="utf-8"))
        weights = array("f")
        weights.frombytes(files.joinpath(WEIGHTS_FILE).read_bytes())
        if sys.byteorder != "little":  # shipped little-endian
            weights.byteswap()
        if len(weights) != N_FEATURES or meta["n_features"] != N_FEATURES:
            raise RuntimeError("the smart router's weights do not match its features; re-fit them")
        self._weights = weights
        self._intercept = float(meta["intercept"])
        self._center = float(meta["center"])
        self._scale = float(meta["scale"])
        self._quantiles: list[float] = [float(q) for q in meta["quantiles"]]

    def score(self, text: str) -> float:
        """0 = a weak model will do; 1 = needs the strong model (0.5 is the dev prompts' median)."""
        w = self._weights
        z = self._intercept + sum(w[i] * v for i, v in features(text).items())
        t = max(-30.0, min(30.0, (z - self._center) / self._scale))
        return 1.0 / (1.0 + math.exp(-t))

    def threshold_for_share(self, share: float) -> float:
        """The threshold that sends about `share` of traffic (by the dev distribution) at or above it."""
        qs = self._quantiles
        if share <= 0:
            return math.nextafter(qs[-1], math.inf)
        if share >= 1:
            return 0.0
        pos = (1.0 - share) * (len(qs) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(qs) - 1)
        return qs[lo] + (pos - lo) * (qs[hi] - qs[lo])
