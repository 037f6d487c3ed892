"""One stored form for an answer, whichever way it was asked for.

A request is identical to another apart from `stream`, so an answer streamed
once may be replayed whole and the other way round: the cache keeps the
non-streaming body, assembles it from a stream's chunks, and turns it back
into chunks for a streaming replay.
"""

from __future__ import annotations

from typing import Any

import orjson

from bonito.providers.base import Operation

DONE = b"data: [DONE]\n\n"


def assemble(op: Operation, chunks: list[dict[str, Any]], usage: dict[str, Any]) -> dict[str, Any]:
    """The whole answer a stream's chunks make up (`usage`: the stream's own, or the metered one)."""
    first = chunks[0] if chunks else {}
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for c in chunk.get("choices") or []:
            if not isinstance(c, dict):
                continue
            idx = c.get("index", 0) if isinstance(c.get("index"), int) else 0
            slot = choices.setdefault(idx, _empty_choice(op, idx))
            if c.get("finish_reason") is not None:
                slot["finish_reason"] = c["finish_reason"]
            if op == "chat":
                _merge_delta(slot["message"], c.get("delta") or {})
            elif isinstance(c.get("text"), str):
                slot["text"] += c["text"]
    answer: dict[str, Any] = {
        "id": first.get("id", ""), "object": "chat.completion" if op == "chat" else "text_completion",
        "created": first.get("created", 0), "model": first.get("model", ""),
        "choices": [choices[i] for i in sorted(choices)], "usage": usage,
    }
    if first.get("system_fingerprint") is not None:
        answer["system_fingerprint"] = first["system_fingerprint"]
    return answer


def _empty_choice(op: Operation, idx: int) -> dict[str, Any]:
    if op == "chat":
        return {"index": idx, "message": {"role": "assistant", "content": None, "refusal": None},
                "logprobs": None, "finish_reason": "stop"}
    return {"index": idx, "text": "", "logprobs": None, "finish_reason": "stop"}


def _merge_delta(message: dict[str, Any], delta: dict[str, Any]) -> None:
    for field in ("content", "refusal"):
        part = delta.get(field)
        if isinstance(part, str):
            message[field] = (message.get(field) or "") + part
    for tc in delta.get("tool_calls") or []:
        if not isinstance(tc, dict):
            continue
        calls: list[dict[str, Any]] = message.setdefault("tool_calls", [])
        idx = tc.get("index", len(calls))
        while len(calls) <= idx:
            calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
        call = calls[idx]
        if tc.get("id"):
            call["id"] = tc["id"]
        fn = tc.get("function") or {}
        if fn.get("name"):
            call["function"]["name"] += fn["name"]
        if isinstance(fn.get("arguments"), str):
            call["function"]["arguments"] += fn["arguments"]


def replay_frames(op: Operation, answer: dict[str, Any], include_usage: bool) -> list[bytes]:
    """A stored answer as SSE frames, ending `data: [DONE]`."""
    head = {"id": answer.get("id", ""), "created": answer.get("created", 0), "model": answer.get("model", "")}
    if answer.get("system_fingerprint") is not None:
        head["system_fingerprint"] = answer["system_fingerprint"]
    obj = "chat.completion.chunk" if op == "chat" else "text_completion"
    extra: dict[str, Any] = {"usage": None} if include_usage else {}
    chunks: list[dict[str, Any]] = []
    for c in answer.get("choices") or []:
        idx = c.get("index", 0)
        if op == "chat":
            chunks.append({**head, "object": obj, **extra, "choices": [
                {"index": idx, "delta": _delta(c.get("message") or {}), "logprobs": None, "finish_reason": None}]})
            chunks.append({**head, "object": obj, **extra, "choices": [
                {"index": idx, "delta": {}, "logprobs": None, "finish_reason": c.get("finish_reason") or "stop"}]})
        else:
            chunks.append({**head, "object": obj, "choices": [
                {"index": idx, "text": c.get("text") or "", "logprobs": None,
                 "finish_reason": c.get("finish_reason") or "stop"}]})
    if include_usage and answer.get("usage"):
        chunks.append({**head, "object": obj, "choices": [], "usage": answer["usage"]})
    return [b"data: " + orjson.dumps(ch) + b"\n\n" for ch in chunks] + [DONE]


def _delta(message: dict[str, Any]) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if message.get("refusal") is not None:
        delta["refusal"] = message["refusal"]
    calls = message.get("tool_calls")
    if calls:
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(calls)]
    return delta
