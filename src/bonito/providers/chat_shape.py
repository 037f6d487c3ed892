"""Shape checks on the OpenAI chat fields that the translating adapters (Bedrock, Vertex, Anthropic) walk.

Pass-through providers leave these to the upstream, which answers in its own words.
Here a wrong shape is a 400 naming the field, never a crash deep in a translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bonito.providers.base import UpstreamError


def check_chat_shapes(body: Mapping[str, Any]) -> None:
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and not (
            isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise _bad("stop", "'stop' must be a string or an array of strings.")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("tools", "'tools' must be an array.")
        for j, tool in enumerate(tools):
            if not _with_object(tool, "function"):
                raise _bad(f"tools[{j}]", f"'tools[{j}]' must be an object whose 'function' is an object.")
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and not _with_object(fmt, "json_schema"):
        raise _bad("response_format.json_schema", "'response_format.json_schema' must be an object.")
    messages = body.get("messages")
    for i, msg in enumerate(messages if isinstance(messages, list) else ()):
        calls = msg.get("tool_calls") if isinstance(msg, dict) else None
        if calls is None:
            continue
        if not isinstance(calls, list):
            raise _bad(f"messages[{i}].tool_calls", f"'messages[{i}].tool_calls' must be an array.")
        for k, call in enumerate(calls):
            if not _with_object(call, "function"):
                where = f"messages[{i}].tool_calls[{k}]"
                raise _bad(where, f"'{where}' must be an object whose 'function' is an object.")


def _with_object(value: Any, field: str) -> bool:
    """An object whose `field`, when present, is an object too."""
    return isinstance(value, dict) and (field not in value or isinstance(value[field], dict))


def _bad(param: str, message: str) -> UpstreamError:
    return UpstreamError(400, message, type="invalid_request_error", code="invalid_value", param=param)
