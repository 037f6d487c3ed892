"""Pure translation of OpenAI /v1/embeddings to Vertex `:predict` and `:embedContent`.

`gemini-embedding-001` and the `text-embedding-*` / `text-multilingual-*`
family answer `:predict` (`instances[{content}]`); newer Gemini embedding models
(`gemini-embedding-2…`) answer `:embedContent`, one content per call.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from bonito.providers.base import UpstreamError, unsupported
from bonito.providers.vertex.gemini import PROVIDER, invalid

_PARAMS = frozenset({"input", "model", "encoding_format", "dimensions", "user"})
_PREDICT_MODELS = ("gemini-embedding-001", "text-embedding-", "text-multilingual-embedding-",
                   "textembedding-gecko", "multimodalembedding")
# Instances per :predict call: gemini-embedding-001 takes one, the older text models 250.
_PREDICT_BATCH = {"gemini-embedding-001": 1}
_DEFAULT_PREDICT_BATCH = 250


def uses_embed_content(model: str) -> bool:
    """Whether the model is served by `:embedContent` rather than `:predict`."""
    return not model.startswith(_PREDICT_MODELS)


def embedding_inputs(body: Mapping[str, Any]) -> list[str]:
    """The texts to embed; rejects token arrays and parameters Vertex cannot honour."""
    for key, value in body.items():
        if key not in _PARAMS and value is not None:
            raise unsupported(key, PROVIDER)
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise invalid("'encoding_format' must be float or base64", "encoding_format")
    dims = body.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or dims < 1):
        raise invalid("'dimensions' must be a positive integer", "dimensions")
    raw = body.get("input")
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise invalid("'input' must be a string or a non-empty array of strings", "input")
    if not all(isinstance(x, str) for x in items):
        raise unsupported("input", PROVIDER, "token arrays; send text")
    if any(not x for x in items):
        raise invalid("'input' must not contain empty strings", "input")
    return items


def predict_batches(model: str, texts: Sequence[str]) -> list[list[str]]:
    """Split texts into as many `:predict` calls as the model's instance limit needs."""
    size = _PREDICT_BATCH.get(model, _DEFAULT_PREDICT_BATCH)
    return [list(texts[i:i + size]) for i in range(0, len(texts), size)]


def predict_request(texts: Sequence[str], dimensions: int | None) -> dict[str, Any]:
    """A `:predict` body for one batch of texts."""
    req: dict[str, Any] = {"instances": [{"content": t} for t in texts]}
    if dimensions:
        req["parameters"] = {"outputDimensionality": dimensions}
    return req


def parse_predict(resp: Mapping[str, Any]) -> tuple[list[list[float]], int]:
    """(vectors, tokens) from a `:predict` answer."""
    vectors: list[list[float]] = []
    tokens = 0
    for pred in resp.get("predictions") or []:
        emb = pred.get("embeddings") if isinstance(pred, dict) else None
        if not isinstance(emb, dict) or not isinstance(emb.get("values"), list):
            raise UpstreamError(502, "Vertex AI answered a prediction without embeddings", kind="protocol")
        vectors.append([float(v) for v in emb["values"]])
        tokens += int((emb.get("statistics") or {}).get("token_count") or 0)
    return vectors, tokens


def embed_content_request(text: str, dimensions: int | None) -> dict[str, Any]:
    """An `:embedContent` body for one text."""
    req: dict[str, Any] = {"content": {"parts": [{"text": text}]}}
    if dimensions:
        req["outputDimensionality"] = dimensions
    return req


def parse_embed_content(resp: Mapping[str, Any]) -> tuple[list[float], int]:
    """(vector, tokens) from an `:embedContent` answer."""
    values = (resp.get("embedding") or {}).get("values")
    if not isinstance(values, list):
        raise UpstreamError(502, "Vertex AI answered without an embedding", kind="protocol")
    tokens = int((resp.get("usageMetadata") or {}).get("promptTokenCount") or 0)
    return [float(v) for v in values], tokens


def embeddings_response(vectors: Sequence[Sequence[float]], tokens: int, model: str,
                        encoding_format: str | None) -> dict[str, Any]:
    """The OpenAI embeddings list; base64 is little-endian float32, as OpenAI encodes it."""
    data = []
    for i, vec in enumerate(vectors):
        value: Any = list(vec)
        if encoding_format == "base64":
            value = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": value})
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
