"""Pure translation between OpenAI chat requests/responses and Anthropic Messages.

No I/O here: `to_messages_request` builds the `POST /v1/messages` body from an
OpenAI body, `from_messages_response` turns a Messages answer into a
`chat.completion` (or `text_completion`). Anything OpenAI-side that Messages
cannot express raises the 400 from `unsupported()`, never a silent drop.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from bonito.providers.base import UpstreamError, unsupported
from bonito.providers.chat_shape import check_chat_shapes

PROVIDER = "anthropic"
DEFAULT_MAX_TOKENS = 4096

STOP_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# OpenAI fields with no Messages equivalent, and the value that means "not used".
_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "n": (None, 1),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "presence_penalty": (None, 0, 0.0),
    "frequency_penalty": (None, 0, 0.0),
    "audio": (None,),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "functions": (None, []),
    "function_call": (None,),
    "web_search_options": (None,),
}
# Anthropic-only fields a client may send through the OpenAI body; forwarded as they are.
_PASSTHROUGH = ("top_k", "thinking")


def to_messages_request(body: Mapping[str, Any], model: str, *, stream: bool = False) -> dict[str, Any]:
    """Build the Messages request for an OpenAI chat body (model = upstream id)."""
    check_chat_shapes(body)
    _reject_unsupported(body)
    system, messages = _convert_messages(body.get("messages"))
    out: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": _max_tokens(body)}
    if system:
        out["system"] = system[0]["text"] if len(system) == 1 else system
    if stream:
        out["stream"] = True
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("user"):
        out["metadata"] = {"user_id": str(body["user"])}
    tools = body.get("tools")
    if tools:
        out["tools"] = [_convert_tool(t) for t in tools]
    choice = _convert_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls") if tools else None)
    if choice is not None:
        if choice["type"] != "none" and not tools:
            raise unsupported("tool_choice", PROVIDER, "tool_choice needs tools")
        out["tool_choice"] = choice
    for name in _PASSTHROUGH:
        if body.get(name) is not None:
            out[name] = body[name]
    return out


def completion_to_messages_request(body: Mapping[str, Any], model: str, *, stream: bool = False) -> dict[str, Any]:
    """Build a Messages request for a legacy `/v1/completions` body: the prompt becomes one user turn."""
    for name, neutral in (("echo", (None, False)), ("best_of", (None, 1)), ("suffix", (None, "")),
                          ("logprobs", (None, 0))):
        if body.get(name) not in neutral:
            raise unsupported(name, PROVIDER)
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise unsupported("prompt", PROVIDER, "only a single text prompt is supported")
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise UpstreamError(400, "'prompt' must be a non-empty string", type="invalid_request_error",
                            param="prompt")
    chat = {k: v for k, v in body.items() if k not in ("prompt", "echo", "best_of", "suffix", "logprobs")}
    chat["messages"] = [{"role": "user", "content": prompt}]
    return to_messages_request(chat, model, stream=stream)


def from_messages_response(resp: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a Messages answer into an OpenAI `chat.completion`."""
    text: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in resp.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            text.append(str(block.get("text", "")))
        elif kind == "tool_use":
            tool_calls.append({
                "id": str(block.get("id", "")),
                "type": "function",
                "function": {"name": str(block.get("name", "")),
                             "arguments": orjson.dumps(block.get("input") or {}).decode()},
            })
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking", "")))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not tool_calls else None,
                               "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    return {
        "id": str(resp.get("id", "")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(resp.get("model", "")),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(resp.get("stop_reason"))}],
        "usage": usage_from(resp.get("usage") or {}),
    }


def chat_to_text_completion(chat: Mapping[str, Any]) -> dict[str, Any]:
    """Reshape a `chat.completion` into the legacy `text_completion` answer."""
    choice = chat["choices"][0]
    return {
        "id": chat["id"],
        "object": "text_completion",
        "created": chat["created"],
        "model": chat["model"],
        "choices": [{"index": 0, "text": choice["message"].get("content") or "", "logprobs": None,
                     "finish_reason": choice["finish_reason"]}],
        "usage": chat["usage"],
    }


def finish_reason(stop_reason: Any) -> str | None:
    """Anthropic stop_reason -> OpenAI finish_reason (unknown reasons read as "stop")."""
    if stop_reason is None:
        return None
    return STOP_REASONS.get(str(stop_reason), "stop")


def usage_from(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Messages usage -> OpenAI usage; cache reads/writes count as prompt tokens, as OpenAI counts them."""
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    cache_write = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cache_read + cache_write
    completion = int(usage.get("output_tokens") or 0)
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}
    if cache_read or cache_write:
        out["prompt_tokens_details"] = {"cached_tokens": cache_read, "cache_creation_tokens": cache_write}
    return out


def _reject_unsupported(body: Mapping[str, Any]) -> None:
    for name, neutral in _NEUTRAL.items():
        value = body.get(name)
        if value not in neutral:
            raise unsupported(name, PROVIDER)
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") not in (None, "text"):
        raise unsupported("response_format", PROVIDER, f"type '{fmt.get('type')}' has no Messages equivalent")


def _max_tokens(body: Mapping[str, Any]) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UpstreamError(400, f"'{name}' must be a positive integer", type="invalid_request_error",
                                    param=name)
            return value
    return DEFAULT_MAX_TOKENS


def _convert_messages(raw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split OpenAI messages into (system text blocks, alternating Messages turns)."""
    if not isinstance(raw, list) or not raw:
        raise UpstreamError(400, "'messages' must be a non-empty array", type="invalid_request_error",
                            param="messages")
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, msg in enumerate(raw):
        if not isinstance(msg, Mapping):
            raise _bad(f"messages[{i}] must be an object")
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend({"type": "text", "text": t} for t in _texts(msg.get("content"), f"messages[{i}]"))
            continue
        if role == "user":
            blocks = _user_blocks(msg.get("content"), i)
        elif role == "assistant":
            blocks = _assistant_blocks(msg, i)
        elif role == "tool":
            blocks = [_tool_result(msg, i)]
            role = "user"
        else:
            raise unsupported(f"messages[{i}].role", PROVIDER, f"role '{role}'")
        if not blocks:
            continue
        # Messages needs alternating roles: merge neighbours (tool results + the next user text…).
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise _bad("'messages' needs at least one user or assistant message")
    for turn in turns:  # a single text block reads better as a plain string
        content = turn["content"]
        if len(content) == 1 and content[0]["type"] == "text" and set(content[0]) == {"type", "text"}:
            turn["content"] = content[0]["text"]
    return system, turns


def _texts(content: Any, where: str) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content] if content else []
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") in ("text", "refusal"):
                text = part.get("text", part.get("refusal"))
                if text:
                    out.append(str(text))
            else:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise unsupported(f"{where}.content", PROVIDER, f"content part '{kind}' here")
        return out
    raise _bad(f"{where}.content must be a string or an array")


def _user_blocks(content: Any, i: int) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise _bad(f"messages[{i}].content must be a string or an array")
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            blocks.append(_image_block(part.get("image_url"), i))
        else:
            raise unsupported(f"messages[{i}].content", PROVIDER, f"content part '{kind}'")
    return blocks


def _image_block(image: Any, i: int) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str):
        raise _bad(f"messages[{i}].content image_url needs a url")
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64" or not media_type:
            raise _bad(f"messages[{i}]: image data URLs must be base64 ('data:image/png;base64,...')")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise _bad(f"messages[{i}]: image url must be a data: or http(s): URL")


def _assistant_blocks(msg: Mapping[str, Any], i: int) -> list[dict[str, Any]]:
    texts = _texts(msg.get("content"), f"messages[{i}]")
    blocks: list[dict[str, Any]] = [{"type": "text", "text": t} for t in texts]
    for j, call in enumerate(msg.get("tool_calls") or []):
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or call.get("type", "function") != "function":
            raise unsupported(f"messages[{i}].tool_calls[{j}]", PROVIDER, "only function tool calls")
        args = fn.get("arguments") or "{}"
        try:
            parsed = orjson.loads(args) if isinstance(args, str | bytes) else args
        except orjson.JSONDecodeError as exc:
            raise _bad(f"messages[{i}].tool_calls[{j}].function.arguments is not valid JSON") from exc
        if not isinstance(parsed, dict):
            raise _bad(f"messages[{i}].tool_calls[{j}].function.arguments must be a JSON object")
        blocks.append({"type": "tool_use", "id": str(call.get("id", "")), "name": str(fn.get("name", "")),
                       "input": parsed})
    return blocks


def _tool_result(msg: Mapping[str, Any], i: int) -> dict[str, Any]:
    tool_call_id = msg.get("tool_call_id")
    if not tool_call_id:
        raise _bad(f"messages[{i}] (role 'tool') needs a tool_call_id")
    texts = _texts(msg.get("content"), f"messages[{i}]")
    content: Any = texts[0] if len(texts) == 1 else [{"type": "text", "text": t} for t in texts]
    return {"type": "tool_result", "tool_use_id": str(tool_call_id), "content": content}


def _convert_tool(tool: Any) -> dict[str, Any]:
    fn = tool.get("function") if isinstance(tool, Mapping) else None
    if not isinstance(fn, Mapping) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        raise unsupported("tools", PROVIDER, f"tool type '{kind}' (only 'function')")
    out: dict[str, Any] = {"name": str(fn.get("name", "")),
                           "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
    if fn.get("description"):
        out["description"] = str(fn["description"])
    return out


def _convert_tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if choice is None:
        out: dict[str, Any] | None = {"type": "auto"} if parallel is False else None
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        out = {"type": "tool", "name": str(choice["function"].get("name", ""))}
    else:
        raise unsupported("tool_choice", PROVIDER, f"value {choice!r}")
    if out is not None and parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _bad(message: str) -> UpstreamError:
    return UpstreamError(400, message, type="invalid_request_error", param="messages")
