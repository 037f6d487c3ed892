"""The lexical features the built-in scorer reads: hashed word uni- and bigrams plus three shape numbers.

Shared by the gateway (scoring one prompt) and `scripts/fit_smart_router.py`
(fitting the weights), so both see exactly the same features. Words are
lower-cased and every number becomes one token: the score depends on what a
prompt is about and how it is built, never on a particular benchmark's phrase.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib

# 2^16 buckets: grouped cross-validation scored 2^16, 2^18 and 2^20 alike, and this keeps the table at 256 KB
HASH_BITS = 16
N_HASHED = 1 << HASH_BITS
# after the hashed buckets: log length, log count of numbers, log count of lines
N_FEATURES = N_HASHED + 3

_TOKEN = re.compile(r"[a-z]+|\d+(?:[.,]\d+)*|[^\sa-z\d]")
_MASK = N_HASHED - 1


def features(text: str) -> dict[int, float]:
    """Sparse feature vector of `text`: {index: value}; the hashed part has unit L2 norm."""
    tokens = ["0" if t[0].isdigit() else t for t in _TOKEN.findall(text.lower())]
    counts: dict[int, float] = {}
    for gram in tokens:
        h = zlib.crc32(gram.encode()) & _MASK
        counts[h] = counts.get(h, 0.0) + 1.0
    for a, b in itertools.pairwise(tokens):
        h = zlib.crc32(f"{a} {b}".encode()) & _MASK
        counts[h] = counts.get(h, 0.0) + 1.0
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    out = {k: v / norm for k, v in counts.items()}
    out[N_HASHED] = math.log1p(len(text)) / 8
    out[N_HASHED + 1] = math.log1p(tokens.count("0")) / 4
    out[N_HASHED + 2] = math.log1p(text.count("\n")) / 4
    return out
