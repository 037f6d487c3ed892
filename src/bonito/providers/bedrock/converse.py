"""OpenAI chat/completions request -> Bedrock Converse request (pure translation).

What Converse cannot express gets a 400 naming the parameter (`unsupported`),
never a silent drop. OpenAI fields that change nothing at their usual value
(`n: 1`, `user`, `stream_options`, zero penalties…) are accepted. Bedrock's own
request fields (`additionalModelRequestFields`, `guardrailConfig`…) may be sent
in the body and are passed through, which is how Claude's extended thinking
or a guardrail is switched on through an OpenAI client's `extra_body`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from bonito.providers.base import UpstreamError, unsupported
from bonito.providers.chat_shape import check_chat_shapes

PROVIDER = "bedrock"
JSON_TOOL = "json_response"

# Bedrock request fields a client may send as-is (through `extra_body`).
_PASSTHROUGH = ("additionalModelRequestFields", "additionalModelResponseFieldPaths", "guardrailConfig",
                "performanceConfig", "promptVariables", "requestMetadata")

# OpenAI fields accepted only at the value that asks for nothing (None is always fine).
_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "n": (1,), "presence_penalty": (0, 0.0), "frequency_penalty": (0, 0.0), "logit_bias": ({},),
    "logprobs": (False,), "top_logprobs": (0,), "parallel_tool_calls": (True,), "store": (False,),
    "service_tier": ("auto", "default"), "echo": (False,), "best_of": (1,), "suffix": ("",),
}
# Accepted and ignored: they only concern the gateway or the client.
_IGNORED = frozenset({"model", "stream", "stream_options", "user"})
_DETAIL = {
    "seed": "Bedrock Converse has no seed",
    "parallel_tool_calls": "Bedrock has no switch to turn parallel tool calls off",
    "n": "Bedrock returns one choice per request",
    "logprobs": "Bedrock Converse returns no log probabilities",
    "reasoning_effort": "send Bedrock's additionalModelRequestFields (e.g. Claude 'thinking') instead",
}
_CHAT_FIELDS = frozenset({"messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop",
                          "tools", "tool_choice", "response_format", "metadata", *_PASSTHROUGH})
_COMPLETION_FIELDS = frozenset({"prompt", "max_tokens", "temperature", "top_p", "stop", *_PASSTHROUGH})
_IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}
_DATA_URL = re.compile(r"^data:image/([a-zA-Z0-9.+-]+);base64,(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ConverseRequest:
    """A translated request: the Converse body, and the tool name standing in for JSON mode."""

    body: dict[str, Any]
    json_tool: str | None = None


def chat_to_converse(req: dict[str, Any]) -> ConverseRequest:
    """Translate an OpenAI chat.completions body into a Converse / ConverseStream body."""
    check_chat_shapes(req)
    _check_params(req, _CHAT_FIELDS)
    messages = req.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages", "'messages' must be a non-empty list")
    system, turns = _translate_messages(messages)
    body: dict[str, Any] = {"messages": turns}
    if system:
        body["system"] = system
    inference = _inference_config(req)
    if inference:
        body["inferenceConfig"] = inference
    tool_config, json_tool = _tool_config(req, _holds_tool_blocks(turns))
    if tool_config:
        body["toolConfig"] = tool_config
    _copy_passthrough(req, body)
    metadata = req.get("metadata")
    if metadata:
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise _invalid("metadata", "'metadata' must map strings to strings")
        body["requestMetadata"] = {**metadata, **body.get("requestMetadata", {})}
    return ConverseRequest(body, json_tool)


def completion_to_converse(req: dict[str, Any]) -> ConverseRequest:
    """Translate a legacy /v1/completions body: the prompt becomes one user message."""
    check_chat_shapes(req)
    _check_params(req, _COMPLETION_FIELDS)
    prompt = req.get("prompt")
    if isinstance(prompt, list):
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise unsupported("prompt", PROVIDER, "send exactly one prompt string per request")
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise _invalid("prompt", "'prompt' must be a non-empty string")
    body: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": prompt}]}]}
    inference = _inference_config(req)
    if inference:
        body["inferenceConfig"] = inference
    _copy_passthrough(req, body)
    return ConverseRequest(body)


def _check_params(req: dict[str, Any], handled: frozenset[str]) -> None:
    for key, value in req.items():
        if key in handled or key in _IGNORED or value is None:
            continue
        if key in _NEUTRAL and value in _NEUTRAL[key]:
            continue
        raise unsupported(key, PROVIDER, _DETAIL.get(key, ""))


def _inference_config(req: dict[str, Any]) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    max_tokens = req.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = req.get("max_tokens")
    if max_tokens is not None:
        cfg["maxTokens"] = max_tokens
    if req.get("temperature") is not None:
        cfg["temperature"] = req["temperature"]
    if req.get("top_p") is not None:
        cfg["topP"] = req["top_p"]
    stop = req.get("stop")
    if stop:
        cfg["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    return cfg


def _copy_passthrough(req: dict[str, Any], body: dict[str, Any]) -> None:
    for key in _PASSTHROUGH:
        if req.get(key) is not None:
            body[key] = req[key]


# --- messages -----------------------------------------------------------------------------------

def _translate_messages(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OpenAI messages -> (Converse system blocks, alternating user/assistant turns)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise _invalid(f"messages[{i}]", "each message must be an object")
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend({"text": t} for t in _texts(msg.get("content"), f"messages[{i}].content"))
            continue
        if role == "user":
            blocks, conv_role = _user_blocks(msg.get("content"), i), "user"
        elif role == "assistant":
            blocks, conv_role = _assistant_blocks(msg, i), "assistant"
        elif role == "tool":
            blocks, conv_role = [_tool_result_block(msg, i)], "user"
        else:
            raise unsupported(f"messages[{i}].role", PROVIDER, f"role '{role}' has no Converse equivalent")
        if not blocks:
            continue
        # Converse wants strictly alternating roles; OpenAI allows runs (tool results, then user text).
        if turns and turns[-1]["role"] == conv_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": conv_role, "content": blocks})
    return system, turns


def _texts(content: Any, where: str) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        out = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text":
                raise unsupported(f"{where}[{j}]", PROVIDER, "only text parts are allowed here")
            out.append(str(part.get("text", "")))
        return out
    if content is None:
        return []
    raise _invalid(where, "content must be a string or a list of parts")


def _user_blocks(content: Any, i: int) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list):
        raise _invalid(f"messages[{i}].content", "content must be a string or a list of parts")
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append({"text": str(part.get("text", ""))})
        elif kind == "image_url":
            blocks.append(_image_block(part.get("image_url"), f"messages[{i}].content[{j}].image_url"))
        else:
            raise unsupported(f"messages[{i}].content[{j}]", PROVIDER, f"content part type '{kind}'")
    return blocks


def _image_block(image: Any, where: str) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, dict) else image
    match = _DATA_URL.match(url) if isinstance(url, str) else None
    if match is None:
        raise unsupported(where, PROVIDER, "images must be base64 data URLs (Bedrock does not fetch URLs)")
    fmt = _IMAGE_FORMATS.get(match.group(1).lower())
    if fmt is None:
        raise unsupported(where, PROVIDER, f"image type '{match.group(1)}' (png, jpeg, gif, webp only)")
    # Converse's JSON wire form carries `bytes` as base64, exactly what the data URL holds.
    return {"image": {"format": fmt, "source": {"bytes": match.group(2).strip()}}}


def _assistant_blocks(msg: dict[str, Any], i: int) -> list[dict[str, Any]]:
    if msg.get("function_call") is not None:
        raise unsupported(f"messages[{i}].function_call", PROVIDER, "use tool_calls")
    content = msg.get("content")
    blocks: list[dict[str, Any]] = []
    if isinstance(content, list):
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in ("text", "refusal"):
                raise unsupported(f"messages[{i}].content[{j}]", PROVIDER, f"assistant part type '{kind}'")
            text = part.get("text") if kind == "text" else part.get("refusal")
            if text:
                blocks.append({"text": str(text)})
    elif content:
        blocks.append({"text": str(content)})
    for j, tc in enumerate(msg.get("tool_calls") or []):
        fn = (tc.get("function") or {}) if isinstance(tc, dict) else {}
        if not isinstance(tc, dict) or tc.get("type", "function") != "function" or not fn.get("name"):
            raise _invalid(f"messages[{i}].tool_calls[{j}]", "each tool call needs a function name")
        blocks.append({"toolUse": {"toolUseId": str(tc.get("id") or f"call_{i}_{j}"), "name": fn["name"],
                                   "input": _arguments(fn.get("arguments"), f"messages[{i}].tool_calls[{j}]")}})
    return blocks


def _arguments(raw: Any, where: str) -> Any:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise _invalid(f"{where}.function.arguments", "tool call arguments must be a JSON string") from exc


def _tool_result_block(msg: dict[str, Any], i: int) -> dict[str, Any]:
    call_id = msg.get("tool_call_id")
    if not call_id:
        raise _invalid(f"messages[{i}].tool_call_id", "a tool message needs tool_call_id")
    text = "".join(_texts(msg.get("content"), f"messages[{i}].content"))
    return {"toolResult": {"toolUseId": str(call_id), "content": [{"text": text}]}}


def _holds_tool_blocks(turns: list[dict[str, Any]]) -> bool:
    return any("toolUse" in b or "toolResult" in b for t in turns for b in t["content"])


# --- tools and JSON mode ------------------------------------------------------------------------

def _tool_config(req: dict[str, Any], history_has_tools: bool) -> tuple[dict[str, Any] | None, str | None]:
    tools = [_tool_spec(t, j) for j, t in enumerate(req.get("tools") or [])]
    choice = req.get("tool_choice")
    json_tool = _json_mode_tool(req.get("response_format"))
    if json_tool is not None:
        if tools:
            raise unsupported("response_format", PROVIDER, "JSON mode cannot be combined with tools on Bedrock")
        # JSON mode rides on a forced tool whose input schema is the requested schema.
        return {"tools": [json_tool], "toolChoice": {"tool": {"name": JSON_TOOL}}}, JSON_TOOL
    if not tools:
        if choice not in (None, "none", "auto"):
            raise _invalid("tool_choice", "'tool_choice' needs 'tools'")
        return None, None
    config: dict[str, Any] = {"tools": tools}
    if choice == "none":
        if history_has_tools:
            # Converse needs toolConfig once toolUse/toolResult blocks are present, and has no "none".
            raise unsupported("tool_choice", PROVIDER,
                              "'none' cannot be expressed once the conversation holds tool calls")
        return None, None
    if choice == "auto":
        config["toolChoice"] = {"auto": {}}
    elif choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if not name:
            raise _invalid("tool_choice", "a named tool_choice needs function.name")
        config["toolChoice"] = {"tool": {"name": name}}
    elif choice is not None:
        raise unsupported("tool_choice", PROVIDER, f"value {orjson.dumps(choice).decode()}")
    return config, None


def _tool_spec(tool: Any, j: int) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        raise unsupported(f"tools[{j}]", PROVIDER, "only function tools are supported")
    fn = tool.get("function") or {}
    if not fn.get("name"):
        raise _invalid(f"tools[{j}].function.name", "each tool needs a name")
    spec: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        spec["description"] = fn["description"]
    spec["inputSchema"] = {"json": fn.get("parameters") or {"type": "object", "properties": {}}}
    if fn.get("strict") is not None:
        spec["strict"] = bool(fn["strict"])
    return {"toolSpec": spec}


def _json_mode_tool(fmt: Any) -> dict[str, Any] | None:
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        schema: Any = {"type": "object"}
        description = "Answer with a JSON object."
    elif kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        description = spec.get("description") or f"Answer with JSON matching the '{spec.get('name', 'response')}' schema."
    else:
        raise unsupported("response_format", PROVIDER, f"type '{kind}'")
    return {"toolSpec": {"name": JSON_TOOL, "description": description, "inputSchema": {"json": schema}}}


def _invalid(param: str, message: str) -> UpstreamError:
    return UpstreamError(400, message, type="invalid_request_error", code="invalid_value", param=param)
