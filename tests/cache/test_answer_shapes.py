"""CONTRACT.md, "Gateway HTTP API": answers from the cache validate against the OpenAI schema, whole or replayed
as SSE, including the forms the cache builds itself (a whole answer assembled from a stream, and back)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest

from bonito.cache.answer import DONE, assemble, replay_frames

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "openai-openapi.json"
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's null type."""
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    return _nullable(json.loads(SPEC.read_text()))["components"]  # type: ignore[no-any-return]


def _valid(components: dict[str, Any], obj: Any, name: str) -> None:
    jsonschema_rs.validate({"$ref": f"#/components/schemas/{name}", "components": components}, obj)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "house-chat",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}


def test_a_streamed_chat_answer_becomes_a_valid_whole_one_and_replays_valid_chunks(
        components: dict[str, Any]) -> None:
    answer = assemble("chat", [_chunk({"role": "assistant", "content": ""}), _chunk({"content": "Hi "}),
                               _chunk({"content": "there"}), _chunk({}, "stop")], USAGE)
    _valid(components, answer, "CreateChatCompletionResponse")
    assert answer["choices"][0]["message"]["content"] == "Hi there" and answer["usage"] == USAGE
    for include_usage in (False, True):
        frames = replay_frames("chat", answer, include_usage)
        assert frames[-1] == DONE
        chunks = [orjson.loads(f[len(b"data: "):]) for f in frames[:-1]]
        for chunk in chunks:
            _valid(components, chunk, "CreateChatCompletionStreamResponse")
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Hi there"
        assert (chunks[-1].get("usage") == USAGE) is include_usage


def test_tool_calls_survive_assembly_and_replay(components: dict[str, Any]) -> None:
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get", "arguments": '{"a"'}}
    answer = assemble("chat", [_chunk({"role": "assistant", "tool_calls": [call]}),
                               _chunk({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}, "tool_calls")],
                      USAGE)
    _valid(components, answer, "CreateChatCompletionResponse")
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"] == {"name": "get", "arguments": '{"a":1}'}
    for frame in replay_frames("chat", answer, True)[:-1]:
        _valid(components, orjson.loads(frame[len(b"data: "):]), "CreateChatCompletionStreamResponse")


def test_a_streamed_completion_becomes_a_valid_whole_one(components: dict[str, Any]) -> None:
    parts = [{"id": "x", "object": "text_completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "text": t, "logprobs": None, "finish_reason": f}]}
             for t, f in (("ab", None), ("c", "length"))]
    answer = assemble("completions", parts, USAGE)
    _valid(components, answer, "CreateCompletionResponse")
    assert answer["choices"][0]["text"] == "abc"
    frames = replay_frames("completions", answer, False)
    assert frames[-1] == DONE
    for frame in frames[:-1]:
        _valid(components, orjson.loads(frame[len(b"data: "):]), "CreateCompletionResponse")
