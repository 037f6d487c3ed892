"""Anthropic's named SSE events -> OpenAI `chat.completion.chunk` dicts (pure, stateful per stream).

Event order: message_start -> (content_block_start -> content_block_delta* ->
content_block_stop)* -> message_delta -> message_stop, with `ping`s anywhere
and `error` possible at any point. Tool-use blocks become `tool_calls` deltas
keyed by their own 0-based index among the tool calls of the message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bonito.providers.anthropic.errors import stream_error
from bonito.providers.anthropic.messages import finish_reason, usage_from
from bonito.providers.base import UpstreamError


class MessagesStream:
    """Feed it each (event name, parsed data); it returns the OpenAI chunks to emit."""

    def __init__(self, *, object_name: str = "chat.completion.chunk") -> None:
        self.object_name = object_name
        self.id = ""
        self.model = ""
        self.created = int(time.time())
        self.usage: dict[str, Any] = {}
        self.done = False
        self._tool_index: dict[int, int] = {}  # content block index -> tool call index

    def feed(self, event: str, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Translate one event. Raises UpstreamError(kind="stream") for an `error` event."""
        kind = event or str(data.get("type", ""))
        if kind == "message_start":
            msg = data.get("message") or {}
            self.id = str(msg.get("id", ""))
            self.model = str(msg.get("model", ""))
            self.usage.update(msg.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(int(data.get("index", 0)), data.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(int(data.get("index", 0)), data.get("delta") or {})
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            reason = finish_reason((data.get("delta") or {}).get("stop_reason"))
            return [self._chunk({}, finish=reason)] if reason else []
        if kind == "message_stop":
            self.done = True
            return [self.usage_chunk()]
        if kind == "error":
            raise stream_error(data)
        return []  # ping, content_block_stop, and event types added later

    def usage_chunk(self) -> dict[str, Any]:
        """The closing chunk OpenAI sends with include_usage: no choices, the usage."""
        return {"id": self.id, "object": self.object_name, "created": self.created, "model": self.model,
                "choices": [], "usage": usage_from(self.usage)}

    def finish(self) -> None:
        """Call when the upstream body ended; a stream cut before message_stop is an error."""
        if not self.done:
            raise UpstreamError(502, "upstream stream ended before message_stop", kind="stream")

    def _block_start(self, index: int, block: Mapping[str, Any]) -> list[dict[str, Any]]:
        kind = block.get("type")
        if kind == "tool_use":
            tool_index = len(self._tool_index)
            self._tool_index[index] = tool_index
            call = {"index": tool_index, "id": str(block.get("id", "")), "type": "function",
                    "function": {"name": str(block.get("name", "")), "arguments": ""}}
            return [self._chunk({"tool_calls": [call]})]
        if kind == "text" and block.get("text"):
            return [self._chunk({"content": str(block["text"])})]
        return []

    def _block_delta(self, index: int, delta: Mapping[str, Any]) -> list[dict[str, Any]]:
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._chunk({"content": str(delta.get("text", ""))})]
        if kind == "input_json_delta":
            partial = str(delta.get("partial_json", ""))
            if not partial or index not in self._tool_index:
                return []
            call = {"index": self._tool_index[index], "function": {"arguments": partial}}
            return [self._chunk({"tool_calls": [call]})]
        if kind == "thinking_delta":
            thinking = str(delta.get("thinking", ""))
            return [self._chunk({"reasoning_content": thinking})] if thinking else []
        return []  # signature_delta, citations_delta: nothing OpenAI-side

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if self.object_name == "text_completion":
            choice: dict[str, Any] = {"index": 0, "text": delta.get("content", ""), "logprobs": None,
                                      "finish_reason": finish}
        else:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {"id": self.id, "object": self.object_name, "created": self.created, "model": self.model,
                "choices": [choice]}
