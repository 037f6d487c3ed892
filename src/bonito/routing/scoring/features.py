"""The features the built-in scorer reads: hashed word uni- and bigrams, seven shape and sixteen structure numbers.

Shared by the gateway (scoring one prompt) and `scripts/fit_smart_router.py`
(fitting the weights), so both see exactly the same features. Words are
lower-cased and every number becomes one token: the score depends on what a
prompt is about and how it is built (`structure.py`), never on a particular
benchmark's phrase.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib

from bonito.routing.scoring.structure import N_STRUCTURE, structure

# 2^16 buckets: grouped cross-validation scored 2^16, 2^18 and 2^20 alike, and this keeps the table at 256 KB
HASH_BITS = 16
N_HASHED = 1 << HASH_BITS
N_SHAPE = 7 + N_STRUCTURE
N_FEATURES = N_HASHED + N_SHAPE
# the shape numbers are few and dense: scaled up so the shared regularisation does not drown them in n-grams
# (grouped cross-validation, seven shape numbers alone: APGR 0.575 at scale 1, 0.59-0.60 at 4-10)
SHAPE_SCALE = 10.0

_TOKEN = re.compile(r"[a-z]+|\d+(?:[.,]\d+)*|[^\sa-z\d]")
_OPERATOR = re.compile(r"[+\-*/=^<>]")
_MASK = N_HASHED - 1


def features(text: str) -> dict[int, float]:
    """Sparse feature vector of `text`: {index: value}; the hashed part has unit L2 norm."""
    tokens = ["0" if t[0].isdigit() else t for t in _TOKEN.findall(text.lower())]
    counts: dict[int, float] = {}
    for gram in itertools.chain(tokens, (f"{a} {b}" for a, b in itertools.pairwise(tokens))):
        h = zlib.crc32(gram.encode()) & _MASK
        counts[h] = counts.get(h, 0.0) + 1.0
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    out = {k: v / norm for k, v in counts.items()}
    numbers = tokens.count("0")
    words = [t for t in tokens if t.isalpha()]
    shape = (
        math.log1p(len(text)) / 8,
        math.log1p(numbers) / 4,
        math.log1p(text.count("\n")) / 4,
        numbers / (len(tokens) or 1),
        (sum(map(len, words)) / len(words) if words else 0.0) / 8,  # mean word length
        math.log1p(len(_OPERATOR.findall(text))) / 4,
        math.log1p(text.count("?")) / 2,
        *structure(text),
    )
    for i, v in enumerate(shape):
        out[N_HASHED + i] = SHAPE_SCALE * v
    return out
