"""OpenAI embeddings <-> Bedrock InvokeModel bodies for Titan and Cohere (pure translation).

Titan embeds one `inputText` per call, so a list of inputs becomes one call
each; Cohere takes `texts[]` in batches of up to 96. `encoding_format:
"base64"` is OpenAI's packing: float32 little-endian, base64-encoded.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bonito.providers.base import UpstreamError, unsupported

PROVIDER = "bedrock"
COHERE_BATCH = 96

_FIELDS = frozenset({"input", "model", "encoding_format", "dimensions", "user"})
# Cohere-only request knobs a client may send through `extra_body`.
_COHERE_FIELDS = frozenset({"input_type", "truncate"})

Family = Literal["titan", "cohere"]


@dataclass(frozen=True, slots=True)
class EmbedPlan:
    """What to send: the InvokeModel bodies in order, and how to read and pack the answers."""

    family: Family
    bodies: list[dict[str, Any]]
    encoding_format: str


def family_of(model: str) -> Family:
    """Which embedding wire format a model id speaks (cross-region prefixes like `us.` allowed)."""
    if "amazon.titan-embed" in model:
        return "titan"
    if "cohere.embed" in model:
        return "cohere"
    raise UpstreamError(400, f"embeddings for '{model}' are not supported by bedrock providers "
                             "(Amazon Titan and Cohere embedding models are)",
                        type="invalid_request_error", code="unsupported_model", param="model")


def plan_embeddings(req: dict[str, Any], model: str) -> EmbedPlan:
    """Translate an OpenAI embeddings body into the InvokeModel bodies for `model`."""
    family = family_of(model)
    allowed = _FIELDS | (_COHERE_FIELDS if family == "cohere" else frozenset())
    for key, value in req.items():
        if key not in allowed and value is not None:
            raise unsupported(key, PROVIDER)
    texts = _inputs(req.get("input"))
    encoding = req.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise unsupported("encoding_format", PROVIDER, f"'{encoding}' (float or base64)")
    dims = req.get("dimensions")
    if family == "titan":
        return EmbedPlan(family, [_titan_body(t, model, dims) for t in texts], encoding)
    bodies = []
    for start in range(0, len(texts), COHERE_BATCH):
        bodies.append(_cohere_body(texts[start:start + COHERE_BATCH], model, dims, req))
    return EmbedPlan(family, bodies, encoding)


def _inputs(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
        return list(raw)
    if isinstance(raw, list) and raw and all(isinstance(t, int | list) for t in raw):
        raise unsupported("input", PROVIDER, "token arrays; send text")
    raise UpstreamError(400, "'input' must be a string or a non-empty list of strings",
                        type="invalid_request_error", code="invalid_value", param="input")


def _titan_body(text: str, model: str, dims: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"inputText": text}
    if "titan-embed-text-v2" in model:
        if dims is not None:
            body["dimensions"] = dims
        # OpenAI embeddings are unit length; Titan v2 can say so explicitly.
        body["normalize"] = True
    elif dims is not None:
        raise unsupported("dimensions", PROVIDER, f"'{model}' has a fixed size")
    return body


def _cohere_body(texts: list[str], model: str, dims: Any, req: dict[str, Any]) -> dict[str, Any]:
    # Cohere requires input_type; documents are what an OpenAI client usually embeds.
    body: dict[str, Any] = {"texts": texts, "input_type": req.get("input_type") or "search_document"}
    if req.get("truncate") is not None:
        body["truncate"] = req["truncate"]
    if "embed-v4" in model:
        body["embedding_types"] = ["float"]
        if dims is not None:
            body["output_dimension"] = dims
    elif dims is not None:
        raise unsupported("dimensions", PROVIDER, f"'{model}' has a fixed size")
    return body


def read_titan(resp: Mapping[str, Any]) -> tuple[list[float], int]:
    """A Titan answer -> (vector, input token count)."""
    vector = resp.get("embedding")
    if not isinstance(vector, list):
        vector = (resp.get("embeddingsByType") or {}).get("float")
    if not isinstance(vector, list):
        raise UpstreamError(502, "Titan answer holds no embedding", kind="protocol")
    return vector, int(resp.get("inputTextTokenCount") or 0)


def read_cohere(resp: Mapping[str, Any]) -> list[list[float]]:
    """A Cohere answer -> vectors (v3 sends a list; v4 with embedding_types a {"float": [...]} map)."""
    vectors = resp.get("embeddings")
    if isinstance(vectors, dict):
        vectors = vectors.get("float")
    if not isinstance(vectors, list):
        raise UpstreamError(502, "Cohere answer holds no float embeddings", kind="protocol")
    return vectors


def pack_base64(vector: Sequence[float]) -> str:
    """OpenAI's base64 embedding: float32 little-endian bytes, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def embedding_response(vectors: list[list[float]], model: str, prompt_tokens: int,
                       encoding_format: str) -> dict[str, Any]:
    """The OpenAI `list` of `embedding` objects with usage."""
    data = [
        {"object": "embedding", "index": i,
         "embedding": pack_base64(v) if encoding_format == "base64" else v}
        for i, v in enumerate(vectors)
    ]
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}
