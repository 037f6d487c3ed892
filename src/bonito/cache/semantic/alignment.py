"""The second stage's alignment check: does every word of the question have a counterpart in the cached prompt?

A near-miss's sentence vector sits next to its twin's ("husky/shepherd mix" / "husky/staffy mix", "What is
3D printing?" / "What is 3D printing up to?"), but the word that changes the question finds no close partner
among the other prompt's words. From the encoder pass the lookup already makes, each word piece of the query
takes its best cosine among the cached prompt's contextual word-piece vectors (BERTScore's alignment); the
pair is refused when the worst of these is under ALIGNMENT_CUT. The cut and the cosine threshold it pairs with
were picked on the development pairs and checked by grouped cross-validation (bench/cache_semantic.py,
docs/cache.md); a learned model over twenty such pair features did worse out of fold than this one cut
(bench/cache_learned_stage.py), so none ships.

Cached prompts keep their piece vectors as int8 with one scale per piece (384 bytes a piece instead of 1,536):
the cosines move by under 0.01.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ALIGNMENT_CUT = 0.7
MAX_PIECES = 64  # a longer prompt keeps its first 64 pieces' vectors: enough to tell a near-miss apart


@dataclass(slots=True)
class Pieces:
    """A prompt's contextual word-piece vectors, compact: int8 rows and the scale that restores each."""

    codes: np.ndarray  # (n, 384) int8
    scales: np.ndarray  # (n,) float32

    @classmethod
    def pack(cls, tokens: np.ndarray) -> Pieces:
        import numpy as np

        rows = tokens[:MAX_PIECES].astype(np.float32)
        scales = np.maximum(np.abs(rows).max(axis=1), np.float32(1e-12)) / np.float32(127)
        return cls(np.round(rows / scales[:, None]).astype(np.int8), scales.astype(np.float32))

    def unpack(self) -> np.ndarray:
        import numpy as np

        return self.codes.astype(np.float32) * self.scales[:, None]


def worst_alignment(query: np.ndarray, cached: Pieces) -> float:
    """The lowest, over the query's pieces, of each one's best cosine among the cached prompt's pieces."""
    import numpy as np

    if len(query) == 0 or len(cached.codes) == 0:
        return 1.0  # nothing to compare (an empty prompt): the sentence cosine alone decides
    rows = cached.unpack()
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), np.float32(1e-12))
    return float((query[:MAX_PIECES] @ rows.T).max(axis=1).min())
