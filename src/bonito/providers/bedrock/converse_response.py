"""Bedrock Converse answer -> OpenAI `chat.completion` / `text_completion` (pure translation)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

# Bedrock stopReason -> OpenAI finish_reason.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
}


def finish_reason(stop_reason: str | None, *, json_mode: bool = False) -> str:
    """Map a Bedrock stopReason; in JSON mode the forced tool call *is* the answer."""
    reason = FINISH_REASONS.get(stop_reason or "", "stop")
    return "stop" if json_mode and reason == "tool_calls" else reason


def usage_from_converse(usage: Any) -> dict[str, Any]:
    """Converse `usage` -> OpenAI usage; cache reads/writes count as prompt tokens."""
    u = usage if isinstance(usage, dict) else {}
    cache_read = int(u.get("cacheReadInputTokens") or 0)
    cache_write = int(u.get("cacheWriteInputTokens") or 0)
    prompt = int(u.get("inputTokens") or 0) + cache_read + cache_write
    completion = int(u.get("outputTokens") or 0)
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}
    if cache_read or cache_write:
        out["prompt_tokens_details"] = {"cached_tokens": cache_read, "cache_creation_tokens": cache_write}
    return out


def new_id(prefix: str, request_id: str | None = None) -> str:
    """An OpenAI-style id; reuses Bedrock's request id when there is one (traceable upstream)."""
    return f"{prefix}-{(request_id or uuid.uuid4().hex).replace('-', '')}"


def converse_to_chat(resp: dict[str, Any], model: str, *, json_tool: str | None = None,
                     request_id: str | None = None) -> dict[str, Any]:
    """Translate a Converse response body into an OpenAI chat.completion."""
    message = ((resp.get("output") or {}).get("message") or {})
    texts: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if "text" in block:
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            if json_tool is not None and use.get("name") == json_tool:
                texts.append(orjson.dumps(use.get("input", {})).decode())
                continue
            tool_calls.append({
                "id": use.get("toolUseId", ""), "type": "function",
                "function": {"name": use.get("name", ""),
                             "arguments": orjson.dumps(use.get("input", {})).decode()},
            })
        elif "reasoningContent" in block:
            text = (block["reasoningContent"].get("reasoningText") or {}).get("text")
            if text:
                reasoning.append(text)
    out_message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
    }
    if tool_calls:
        out_message["tool_calls"] = tool_calls
    if reasoning:
        # Not in OpenAI's schema; the name DeepSeek-style clients already read.
        out_message["reasoning_content"] = "".join(reasoning)
    return {
        "id": new_id("chatcmpl", request_id),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0, "message": out_message, "logprobs": None,
            "finish_reason": finish_reason(resp.get("stopReason"), json_mode=json_tool is not None),
        }],
        "usage": usage_from_converse(resp.get("usage")),
    }


def chat_to_text_completion(chat: dict[str, Any]) -> dict[str, Any]:
    """Reshape a chat.completion into the legacy /v1/completions answer."""
    choice = chat["choices"][0]
    return {
        "id": chat["id"].replace("chatcmpl-", "cmpl-", 1),
        "object": "text_completion",
        "created": chat["created"],
        "model": chat["model"],
        "choices": [{"index": 0, "text": choice["message"].get("content") or "", "logprobs": None,
                     "finish_reason": choice["finish_reason"]}],
        "usage": chat["usage"],
    }
