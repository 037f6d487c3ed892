"""ConverseStream -> OpenAI chunks, from the recorded eventstream bytes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonito.providers.bedrock.converse_stream import ConverseStreamTranslator
from bonito.providers.bedrock.eventstream import EventStreamDecoder

BEDROCK = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "bedrock"


def chunks_for(name: str, **kwargs: Any) -> list[dict[str, Any]]:
    raw = base64.b64decode(json.loads((BEDROCK / f"{name}.json").read_text())["response"]["body_b64"])
    translator = ConverseStreamTranslator("upstream-id", **kwargs)
    out = [c for m in EventStreamDecoder().feed(raw) for c in translator.on_event(m.event_type, orjson.loads(m.payload))]
    assert translator.stopped
    return [*out, translator.finish()]


def assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Put chunks back together the way an OpenAI client does."""
    content, reasoning, finish = "", "", None
    calls: dict[int, dict[str, Any]] = {}
    for c in chunks[:-1]:
        assert c["object"] == "chat.completion.chunk" and len(c["choices"]) == 1
        choice = c["choices"][0]
        delta = choice["delta"]
        content += delta.get("content") or ""
        reasoning += delta.get("reasoning_content") or ""
        for tc in delta.get("tool_calls") or []:
            slot = calls.setdefault(tc["index"], {"id": "", "name": "", "arguments": ""})
            slot["id"] = tc.get("id") or slot["id"]
            slot["name"] += (tc.get("function") or {}).get("name") or ""
            slot["arguments"] += (tc.get("function") or {}).get("arguments") or ""
        finish = choice["finish_reason"] or finish
    return {"content": content, "reasoning": reasoning, "finish": finish, "tool_calls": calls,
            "usage": chunks[-1]["usage"], "last": chunks[-1]}


def test_text_with_system() -> None:
    chunks = chunks_for("converse_stream_text_system")
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    out = assemble(chunks)
    assert out["content"].startswith("The capital of France is Paris.")
    assert out["content"].endswith('"The City of Light" or "The City of Love."')
    assert out["finish"] == "stop"
    assert out["usage"] == {"prompt_tokens": 13, "completion_tokens": 82, "total_tokens": 95}
    assert out["last"]["choices"] == []
    assert len({c["id"] for c in chunks}) == 1


def test_tool_use_stream_gives_openai_tool_call_deltas() -> None:
    chunks = chunks_for("converse_stream_tool_use")
    out = assemble(chunks)
    assert out["content"].startswith("<thinking> To find the temperature")
    assert out["tool_calls"] == {0: {"id": "tooluse_lAG_zP8QRHmSYOwZzzaCqA", "name": "get_temperature",
                                     "arguments": '{"city":"Paris"}'}}
    assert out["finish"] == "tool_calls"
    assert out["usage"] == {"prompt_tokens": 471, "completion_tokens": 91, "total_tokens": 562}
    header = next(c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("tool_calls"))
    assert header["choices"][0]["delta"]["tool_calls"][0] == {
        "index": 0, "id": "tooluse_lAG_zP8QRHmSYOwZzzaCqA", "type": "function",
        "function": {"name": "get_temperature", "arguments": ""}}


def test_tool_result_turn_stream() -> None:
    out = assemble(chunks_for("converse_stream_tool_result_turn"))
    assert out["content"] == "The current temperature in Paris, the capital of France, is 30°C."
    assert out["finish"] == "stop" and out["tool_calls"] == {}
    assert out["usage"]["total_tokens"] == 595


def test_reasoning_deltas_come_before_the_answer() -> None:
    chunks = chunks_for("converse_stream_reasoning_claude")
    out = assemble(chunks)
    assert out["reasoning"].startswith("The user has greeted me with a simple \"Hello\".")
    assert out["content"] == "Hello! It's nice to meet you. How can I help you today?"
    first_text = next(i for i, c in enumerate(chunks) if c["choices"] and c["choices"][0]["delta"].get("content"))
    last_reasoning = max(i for i, c in enumerate(chunks)
                         if c["choices"] and c["choices"][0]["delta"].get("reasoning_content"))
    assert last_reasoning < first_text
    assert out["usage"] == {"prompt_tokens": 36, "completion_tokens": 73, "total_tokens": 109}


def test_text_completion_stream_shape() -> None:
    chunks = chunks_for("converse_stream_tool_result_turn", text_completion=True)
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks[:-1]) == (
        "The current temperature in Paris, the capital of France, is 30°C.")
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 18


@pytest.mark.parametrize("stop, finish", [("max_tokens", "length"), ("guardrail_intervened", "content_filter"),
                                          ("content_filtered", "content_filter"), ("stop_sequence", "stop")])
def test_finish_reasons(stop: str, finish: str) -> None:
    t = ConverseStreamTranslator("m")
    [chunk] = t.on_event("messageStop", {"stopReason": stop})
    assert chunk["choices"][0]["finish_reason"] == finish


def test_json_mode_tool_input_streams_as_content() -> None:
    t = ConverseStreamTranslator("m", json_tool="json_response")
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"}),
              ("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t",
                                                                                   "name": "json_response"}}}),
              ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"a":'}}}),
              ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "1}"}}}),
              ("contentBlockStop", {"contentBlockIndex": 0}),
              ("messageStop", {"stopReason": "tool_use"}),
              ("metadata", {"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}})]
    chunks = [c for e, p in events for c in t.on_event(e, p)] + [t.finish()]
    out = assemble(chunks)
    assert out["content"] == '{"a":1}' and out["tool_calls"] == {} and out["finish"] == "stop"
