"""Pure translation between OpenAI chat/completions bodies and Gemini `generateContent`.

No I/O here: `chat_request` / `completion_request` build the upstream body (or
raise a 400 `UpstreamError` for what Gemini cannot honour), and `chat_response`
/ `text_completion` shape Gemini's answer as OpenAI's. The streaming side is in
`streaming.py` and reuses the part/usage/finish-reason helpers below.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

import orjson

from bonito.providers.base import UpstreamError, unsupported
from bonito.providers.chat_shape import check_chat_shapes

PROVIDER = "vertex"

# Sent as the thought signature of replayed function calls: Gemini 3 rejects a
# function-call turn without one, and OpenAI clients have nowhere to keep the
# real signature. Google documents this value for exactly that case.
SKIP_THOUGHT_SIGNATURE = "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I="

# Fields that change nothing upstream and may be ignored (or are handled by the gateway).
_HARMLESS = frozenset({"model", "stream", "stream_options", "user", "safety_identifier",
                       "prompt_cache_key", "prompt_cache_retention", "metadata"})
_CHAT_PARAMS = frozenset({
    "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format", "stop",
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "presence_penalty",
    "frequency_penalty", "seed", "n", "reasoning_effort", "modalities", "logprobs", "top_logprobs",
    "store", "service_tier",
})
_COMPLETION_PARAMS = frozenset({
    "prompt", "max_tokens", "temperature", "top_p", "stop", "n", "seed", "presence_penalty",
    "frequency_penalty", "echo", "suffix", "best_of", "logprobs",
})

_SAFETY_FINISH = frozenset({
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "MODEL_ARMOR",
    "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
})
_THINKING_BUDGET = {"none": 0, "minimal": 0, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768,
                    "max": 32768}
_THINKING_LEVEL = {"none": "MINIMAL", "minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM",
                   "high": "HIGH", "xhigh": "HIGH", "max": "HIGH"}
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*?;base64,(?P<data>.*)$", re.S)
_MIME_BY_EXT = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "gif": "image/gif", "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf",
    "mp3": "audio/mpeg", "wav": "audio/wav", "mp4": "video/mp4", "txt": "text/plain",
}


def invalid(message: str, param: str | None = None) -> UpstreamError:
    """A 400 for a malformed request (as opposed to one Gemini cannot honour)."""
    return UpstreamError(400, message, type="invalid_request_error", code="invalid_request", param=param)


# --------------------------------------------------------------------------- requests


def chat_request(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The `generateContent` body for an OpenAI chat.completions request."""
    check_chat_shapes(body)
    _check_params(body, _CHAT_PARAMS)
    system, contents = messages_to_contents(body.get("messages"))
    req: dict[str, Any] = {"contents": contents}
    if system:
        req["systemInstruction"] = {"role": "user", "parts": system}
    tools, tool_config = tools_to_gemini(body.get("tools"), body.get("tool_choice"))
    if tools:
        req["tools"] = tools
    if tool_config:
        req["toolConfig"] = tool_config
    if body.get("parallel_tool_calls") is False and tools:
        raise unsupported("parallel_tool_calls", PROVIDER, "Gemini cannot be limited to one call per turn")
    gen = generation_config(body, model)
    if gen:
        req["generationConfig"] = gen
    return req


def completion_request(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The `generateContent` body for a legacy /v1/completions request (prompt as one user turn)."""
    _check_params(body, _COMPLETION_PARAMS)
    if body.get("echo"):
        raise unsupported("echo", PROVIDER)
    if body.get("suffix"):
        raise unsupported("suffix", PROVIDER)
    if body.get("best_of") not in (None, 1):
        raise unsupported("best_of", PROVIDER)
    if body.get("logprobs") is not None:
        raise unsupported("logprobs", PROVIDER)
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise unsupported("prompt", PROVIDER, "only a single text prompt per request")
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise invalid("'prompt' must be a non-empty string", "prompt")
    chat = {k: v for k, v in body.items() if k in ("max_tokens", "temperature", "top_p", "stop", "n",
                                                     "seed", "presence_penalty", "frequency_penalty")}
    chat["messages"] = [{"role": "user", "content": prompt}]
    return chat_request(chat, model)


def _check_params(body: Mapping[str, Any], known: frozenset[str]) -> None:
    for key, value in body.items():
        if key in _HARMLESS or key in known:
            continue
        if value is None:
            continue
        detail = "use 'tools' and 'tool_choice'" if key in ("functions", "function_call") else ""
        raise unsupported(key, PROVIDER, detail)
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or n < 1):
        raise invalid("'n' must be a positive integer", "n")
    if body.get("logprobs") and "messages" in body:
        raise unsupported("logprobs", PROVIDER)
    if body.get("top_logprobs") is not None and "messages" in body:
        raise unsupported("top_logprobs", PROVIDER)
    if body.get("store"):
        raise unsupported("store", PROVIDER, "completions are not stored")
    if body.get("service_tier") not in (None, "auto", "default"):
        raise unsupported("service_tier", PROVIDER)
    modalities = body.get("modalities")
    if modalities is not None and list(modalities) != ["text"]:
        raise unsupported("modalities", PROVIDER, "only text output")


def messages_to_contents(messages: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(systemInstruction parts, contents) for OpenAI messages.

    System and developer messages, wherever they appear, become the system
    instruction. Consecutive tool results become one user turn of
    functionResponse parts, named after the assistant call they answer.
    """
    if not isinstance(messages, list) or not messages:
        raise invalid("'messages' must be a non-empty array", "messages")
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    prev_role = ""
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise invalid(f"messages[{i}] must be an object", f"messages[{i}]")
        role = msg.get("role")
        if role in ("system", "developer"):
            system.extend(_text_parts(msg.get("content"), f"messages[{i}].content"))
        elif role == "user":
            parts = user_parts(msg.get("content"), f"messages[{i}].content")
            if parts:
                contents.append({"role": "user", "parts": parts})
        elif role == "assistant":
            parts = _assistant_parts(msg, i, call_names)
            if parts:
                contents.append({"role": "model", "parts": parts})
        elif role == "tool":
            part = _tool_result_part(msg, i, call_names)
            if prev_role == "tool" and contents and contents[-1]["role"] == "user":
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        elif role == "function":
            raise unsupported(f"messages[{i}].role", PROVIDER, "legacy 'function' messages; use 'tool'")
        else:
            raise invalid(f"messages[{i}].role '{role}' is not a valid role", f"messages[{i}].role")
        prev_role = str(role)
    if not contents:
        if not system:
            raise invalid("'messages' holds no content", "messages")
        # Gemini needs at least one turn; a system-only prompt is sent as the user turn.
        contents, system = [{"role": "user", "parts": system}], []
    return system, contents


def _text_parts(content: Any, where: str) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if isinstance(content, list):
        out = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
                raise unsupported(f"{where}[{j}].type", PROVIDER, "only text is allowed here")
            text = part.get("text", part.get("refusal"))
            if text:
                out.append({"text": str(text)})
        return out
    raise invalid(f"{where} must be a string or an array of parts", where)


def user_parts(content: Any, where: str) -> list[dict[str, Any]]:
    """Gemini parts for a user message's content: text, images, audio and files."""
    if not isinstance(content, list):
        return _text_parts(content, where)
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                out.append({"text": str(part["text"])})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            out.append(_media_part(str(url or ""), f"{where}[{j}].image_url"))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            fmt = str(audio.get("format") or "wav")
            out.append({"inlineData": {"mimeType": "audio/mpeg" if fmt == "mp3" else f"audio/{fmt}",
                                       "data": str(audio.get("data") or "")}})
        elif kind == "file":
            file = part.get("file") or {}
            if not file.get("file_data"):
                raise unsupported(f"{where}[{j}].file.file_id", PROVIDER, "send the file inline as file_data")
            data = str(file["file_data"])
            if not data.startswith("data:"):
                data = f"data:{_guess_mime(str(file.get('filename') or ''), 'application/pdf')};base64,{data}"
            out.append(_media_part(data, f"{where}[{j}].file"))
        else:
            raise unsupported(f"{where}[{j}].type", PROVIDER, f"content part type '{kind}'")
    return out


def _media_part(url: str, where: str) -> dict[str, Any]:
    m = _DATA_URL.match(url)
    if m:
        return {"inlineData": {"mimeType": m.group("mime"), "data": m.group("data")}}
    if url.startswith("data:"):
        raise invalid(f"{where}: only base64 data URLs are accepted", where)
    if url.startswith(("gs://", "https://", "http://")):
        mime = _guess_mime(url, "")
        if not mime:
            raise unsupported(where, PROVIDER, "cannot tell the media type of this URL; send a data URL")
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise invalid(f"{where}: expected a data URL or an http(s)/gs URL", where)


def _guess_mime(name: str, default: str) -> str:
    ext = name.split("?", 1)[0].rsplit(".", 1)[-1].lower() if "." in name else ""
    return _MIME_BY_EXT.get(ext, default)


def _assistant_parts(msg: Mapping[str, Any], i: int, call_names: dict[str, str]) -> list[dict[str, Any]]:
    parts = _text_parts(msg.get("content"), f"messages[{i}].content")
    for k, call in enumerate(msg.get("tool_calls") or []):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not fn.get("name"):
            raise invalid(f"messages[{i}].tool_calls[{k}] needs function.name", f"messages[{i}].tool_calls")
        name = str(fn["name"])
        call_names[str(call.get("id", ""))] = name
        args = _json_object(fn.get("arguments"), f"messages[{i}].tool_calls[{k}].function.arguments")
        part: dict[str, Any] = {"functionCall": {"name": name, "args": args}}
        if k == 0:
            part["thoughtSignature"] = SKIP_THOUGHT_SIGNATURE
        parts.append(part)
    return parts


def _json_object(raw: Any, where: str) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise invalid(f"{where} is not valid JSON", where) from exc
    if not isinstance(value, dict):
        raise invalid(f"{where} must be a JSON object", where)
    return value


def _tool_result_part(msg: Mapping[str, Any], i: int, call_names: Mapping[str, str]) -> dict[str, Any]:
    call_id = str(msg.get("tool_call_id") or "")
    name = call_names.get(call_id)
    if name is None:
        raise invalid(f"messages[{i}].tool_call_id '{call_id}' answers no earlier assistant tool call",
                      f"messages[{i}].tool_call_id")
    text = "".join(p["text"] for p in _text_parts(msg.get("content"), f"messages[{i}].content"))
    try:
        value: Any = orjson.loads(text) if text else ""
    except orjson.JSONDecodeError:
        value = text
    # Gemini wants an object; "output" is the key Vertex documents for a plain result.
    response = value if isinstance(value, dict) else {"output": value}
    return {"functionResponse": {"name": name, "response": response}}


def tools_to_gemini(tools: Any, tool_choice: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(tools, toolConfig) for OpenAI function tools and tool_choice."""
    decls: list[dict[str, Any]] = []
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise unsupported(f"tools[{i}].type", PROVIDER, f"tool type '{kind}'; only function tools")
        fn = tool.get("function") or {}
        if not fn.get("name"):
            raise invalid(f"tools[{i}].function.name is required", f"tools[{i}].function.name")
        decl: dict[str, Any] = {"name": str(fn["name"])}
        if fn.get("description"):
            decl["description"] = str(fn["description"])
        if fn.get("parameters"):
            # JSON Schema as sent; the OpenAPI-subset `parameters` field would reject
            # keywords OpenAI clients use (additionalProperties, $ref, anyOf…).
            decl["parametersJsonSchema"] = fn["parameters"]
        decls.append(decl)
    if tool_choice is None or tool_choice == "auto":
        return ([{"functionDeclarations": decls}] if decls else []), None
    if not decls:
        if tool_choice == "none":
            return [], None
        raise invalid("'tool_choice' needs 'tools'", "tool_choice")
    mode, names = _tool_choice(tool_choice)
    if names is not None and tool_choice.get("type") == "allowed_tools":
        # Same meaning as OpenAI: only these tools may be called at all.
        decls = [d for d in decls if d["name"] in names]
        names = names if mode == "ANY" else None
    config: dict[str, Any] = {"mode": mode}
    if names:
        config["allowedFunctionNames"] = names
    return [{"functionDeclarations": decls}], {"functionCallingConfig": config}


def _tool_choice(choice: Any) -> tuple[str, list[str] | None]:
    if choice == "none":
        return "NONE", None
    if choice == "required":
        return "ANY", None
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if name:
            return "ANY", [str(name)]
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        names = [str((t.get("function") or {}).get("name")) for t in allowed.get("tools") or []]
        return ("ANY" if allowed.get("mode") == "required" else "AUTO"), names
    raise invalid("'tool_choice' must be none, auto, required or a named function", "tool_choice")


def generation_config(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """generationConfig from sampling, length, stop, JSON-mode and reasoning parameters."""
    gen: dict[str, Any] = {}
    for src, dst in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed"),
                     ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
        if body.get(src) is not None:
            gen[dst] = body[src]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        gen["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    if stop:
        gen["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if (body.get("n") or 1) > 1:
        gen["candidateCount"] = body["n"]
    gen.update(_response_format(body.get("response_format")))
    effort = body.get("reasoning_effort")
    if effort is not None:
        if effort not in _THINKING_BUDGET:
            raise invalid(f"'reasoning_effort' value '{effort}' is not valid", "reasoning_effort")
        # Gemini 3 takes a level; 2.5 takes a token budget.
        if model.startswith("gemini-3"):
            gen["thinkingConfig"] = {"thinkingLevel": _THINKING_LEVEL[effort]}
        else:
            gen["thinkingConfig"] = {"thinkingBudget": _THINKING_BUDGET[effort]}
    return gen


def _response_format(fmt: Any) -> dict[str, Any]:
    if fmt is None:
        return {}
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        out: dict[str, Any] = {"responseMimeType": "application/json"}
        if spec.get("schema"):
            # Full JSON Schema (the OpenAPI-subset responseSchema rejects much of it).
            out["responseJsonSchema"] = spec["schema"]
        return out
    raise unsupported("response_format.type", PROVIDER, f"'{kind}'")


# --------------------------------------------------------------------------- responses


def new_id(prefix: str) -> str:
    """An OpenAI-style object id (`chatcmpl-…`, `cmpl-…`, `call_…`)."""
    return prefix + secrets.token_hex(12)


def finish_reason(raw: str | None, has_tool_calls: bool) -> str:
    """OpenAI finish_reason for a Gemini finishReason."""
    if raw in _SAFETY_FINISH:
        return "content_filter"
    if raw == "MAX_TOKENS":
        return "length"
    return "tool_calls" if has_tool_calls else "stop"


def split_parts(parts: Any, first_tool_index: int = 0) -> tuple[str, str, list[dict[str, Any]]]:
    """(answer text, thought text, OpenAI tool_calls) from Gemini parts; each call gets a fresh id."""
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        if "functionCall" in part:
            fc = part["functionCall"] or {}
            calls.append({
                "index": first_tool_index + len(calls),
                "id": new_id("call_"),
                "type": "function",
                "function": {"name": str(fc.get("name", "")),
                             "arguments": orjson.dumps(fc.get("args") or {}).decode()},
            })
        elif "text" in part:
            (thoughts if part.get("thought") else text).append(str(part["text"]))
    return "".join(text), "".join(thoughts), calls


def usage(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """OpenAI usage from usageMetadata; thinking tokens are billed as completion tokens."""
    meta = meta or {}
    prompt = int(meta.get("promptTokenCount") or 0) + int(meta.get("toolUsePromptTokenCount") or 0)
    thoughts = int(meta.get("thoughtsTokenCount") or 0)
    completion = int(meta.get("candidatesTokenCount") or 0) + thoughts
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}
    if meta.get("cachedContentTokenCount"):
        out["prompt_tokens_details"] = {"cached_tokens": int(meta["cachedContentTokenCount"])}
    if thoughts:
        out["completion_tokens_details"] = {"reasoning_tokens": thoughts}
    return out


def chat_response(resp: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat.completion for a GenerateContentResponse."""
    choices: list[dict[str, Any]] = []
    for pos, cand in enumerate(resp.get("candidates") or []):
        text, thoughts, calls = split_parts((cand.get("content") or {}).get("parts"))
        for call in calls:
            del call["index"]  # only stream deltas carry an index
        message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None,
                                   "refusal": None}
        if calls:
            message["tool_calls"] = calls
        if thoughts:
            message["reasoning_content"] = thoughts
        choices.append({"index": int(cand.get("index", pos)), "message": message, "logprobs": None,
                        "finish_reason": finish_reason(cand.get("finishReason"), bool(calls))})
    if not choices:
        # No candidates: the prompt itself was blocked (promptFeedback.blockReason).
        blocked = bool((resp.get("promptFeedback") or {}).get("blockReason"))
        choices.append({"index": 0, "message": {"role": "assistant", "content": "", "refusal": None}, "logprobs": None,
                        "finish_reason": "content_filter" if blocked else "stop"})
    choices.sort(key=lambda c: c["index"])
    rid = resp.get("responseId")
    return {
        "id": f"chatcmpl-{rid}" if rid else new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage(resp.get("usageMetadata")),
    }


def text_completion(chat: Mapping[str, Any]) -> dict[str, Any]:
    """Reshape a chat.completion as a legacy text_completion."""
    choices = [{"text": c["message"].get("content") or "", "index": c["index"], "logprobs": None,
                "finish_reason": c["finish_reason"]} for c in chat["choices"]]
    return {"id": "cmpl-" + str(chat["id"]).removeprefix("chatcmpl-"), "object": "text_completion",
            "created": chat["created"], "model": chat["model"], "choices": choices, "usage": chat["usage"]}
