"""OpenAI embeddings <-> Titan / Cohere InvokeModel, against the recorded exchanges."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from bonito.providers.base import UpstreamError
from bonito.providers.bedrock.embed import (
    embedding_response,
    pack_base64,
    plan_embeddings,
    read_cohere,
    read_titan,
)

BEDROCK = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "bedrock"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((BEDROCK / f"{name}.json").read_text())  # type: ignore[no-any-return]


def test_titan_v2_with_dimensions_matches_the_recording() -> None:
    fx = fixture("invoke_embed_titan_v2_dimensions")
    plan = plan_embeddings({"model": "m", "input": "Test embedding dimensions", "dimensions": 256},
                           "amazon.titan-embed-text-v2:0")
    assert plan.family == "titan" and plan.bodies == [fx["request"]["body"]]
    vector, tokens = read_titan(fx["response"]["body"])
    assert len(vector) == 256 and tokens == 4
    out = embedding_response([vector], "amazon.titan-embed-text-v2:0", tokens, plan.encoding_format)
    assert out["object"] == "list" and out["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert out["data"] == [{"object": "embedding", "index": 0, "embedding": vector}]


def test_titan_takes_one_text_per_call() -> None:
    plan = plan_embeddings({"input": ["a", "b", "c"]}, "us.amazon.titan-embed-text-v2:0")
    assert [b["inputText"] for b in plan.bodies] == ["a", "b", "c"]
    with pytest.raises(UpstreamError) as err:
        plan_embeddings({"input": "a", "dimensions": 256}, "amazon.titan-embed-text-v1")
    assert err.value.param == "dimensions"


def test_cohere_batches_texts_and_matches_the_recording() -> None:
    fx = fixture("invoke_embed_cohere_v3")
    plan = plan_embeddings({"input": ["Hello, world!"], "input_type": "search_query", "truncate": "NONE"},
                           "cohere.embed-english-v3")
    assert plan.family == "cohere" and plan.bodies == [fx["request"]["body"]]
    vectors = read_cohere(fx["response"]["body"])
    assert len(vectors) == 1 and len(vectors[0]) == 1024
    many = plan_embeddings({"input": [f"t{i}" for i in range(200)]}, "cohere.embed-multilingual-v3")
    assert [len(b["texts"]) for b in many.bodies] == [96, 96, 8]
    assert many.bodies[0]["input_type"] == "search_document"
    v4 = plan_embeddings({"input": "x", "dimensions": 512}, "cohere.embed-v4:0")
    assert v4.bodies == [{"texts": ["x"], "input_type": "search_document", "embedding_types": ["float"],
                          "output_dimension": 512}]
    assert read_cohere({"embeddings": {"float": [[0.5]]}}) == [[0.5]]


def test_base64_is_float32_little_endian() -> None:
    vector = [0.5, -1.25, 3.0]
    packed = pack_base64(vector)
    assert list(struct.unpack("<3f", base64.b64decode(packed))) == vector
    out = embedding_response([vector], "m", 3, "base64")
    assert out["data"][0]["embedding"] == packed


@pytest.mark.parametrize("body, model, param", [
    ({"input": "x", "encoding_format": "int8"}, "amazon.titan-embed-text-v2:0", "encoding_format"),
    ({"input": [[1, 2, 3]]}, "amazon.titan-embed-text-v2:0", "input"),
    ({"input": "x", "input_type": "search_query"}, "amazon.titan-embed-text-v2:0", "input_type"),
    ({"input": "x"}, "amazon.nova-micro-v1:0", "model"),
])
def test_embedding_requests_bedrock_cannot_serve_are_a_400(body: dict[str, Any], model: str, param: str) -> None:
    with pytest.raises(UpstreamError) as err:
        plan_embeddings(body, model)
    assert err.value.status == 400 and err.value.param == param
