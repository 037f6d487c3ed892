"""The built-in scorer: the expected gain in correctness from the strong model, from a three-way logistic regression.

Fitted by `scripts/fit_smart_router.py` on labelled prompts: for each, did the
strong model do better than the weak one, the same, or worse. The score is
P(strong better) − P(weak better) — the share of calls the strong model would
get right that the weak one gets wrong, net — centred on the fitting prompts'
median and squashed to [0, 1]. The weights (three rows of float32 over the
hashed features, 768 KB) load on the first score, so a process without a
smart route never reads them.
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
# the weight file's rows, in order: strong model worse than the weak one, the same, better
CLASSES = (-1, 0, 1)


class LexicalScorer:
    """Scores a prompt in a fraction of a millisecond; deterministic, in [0, 1]."""

    name = "builtin"

    def __init__(self) -> None:
        files = resources.files("bonito.routing.scoring")
        meta = json.loads(files.joinpath(MODEL_FILE).read_text(encoding="utf-8"))
        weights = array("f")
        weights.frombytes(files.joinpath(WEIGHTS_FILE).read_bytes())
        if sys.byteorder != "little":  # shipped little-endian
            weights.byteswap()
        n = len(CLASSES) * N_FEATURES
        if len(weights) != n or meta["n_features"] != N_FEATURES or meta["classes"] != list(CLASSES):
            raise RuntimeError("the smart router's weights do not match its features; re-fit them")
        self._worse = weights[:N_FEATURES]
        self._same = weights[N_FEATURES:2 * N_FEATURES]
        self._better = weights[2 * N_FEATURES:]
        self._intercepts = tuple(float(b) for b in meta["intercepts"])
        self._center = float(meta["center"])
        self._scale = float(meta["scale"])
        self._quantiles: list[float] = [float(q) for q in meta["quantiles"]]

    def gain(self, text: str) -> float:
        """P(strong model better) − P(weak model better) for `text`, in [−1, 1]."""
        worse, same, better = self._worse, self._same, self._better
        z_worse, z_same, z_better = self._intercepts
        for i, v in features(text).items():
            z_worse += worse[i] * v
            z_same += same[i] * v
            z_better += better[i] * v
        top = max(z_worse, z_same, z_better)
        e_worse, e_same, e_better = math.exp(z_worse - top), math.exp(z_same - top), math.exp(z_better - top)
        return (e_better - e_worse) / (e_worse + e_same + e_better)

    def score(self, text: str) -> float:
        """0 = a weak model will do; 1 = needs the strong model (0.5 is the fitting prompts' median)."""
        t = max(-30.0, min(30.0, (self.gain(text) - self._center) / self._scale))
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
