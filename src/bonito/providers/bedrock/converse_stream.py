"""ConverseStream events -> OpenAI `chat.completion.chunk`s (a small pure state machine).

Bedrock numbers content blocks across text and tool use; OpenAI numbers tool
calls among themselves, so the translator keeps a block -> tool index map.
Usage arrives in the trailing `metadata` event and is emitted by `finish()`
as the OpenAI usage chunk (`"choices": []`), always last.
"""

from __future__ import annotations

import time
from typing import Any

from bonito.providers.bedrock.converse_response import finish_reason, new_id, usage_from_converse


class ConverseStreamTranslator:
    """Feed decoded ConverseStream events in order; collect the OpenAI chunks each one yields."""

    def __init__(self, model: str, *, json_tool: str | None = None, text_completion: bool = False,
                 request_id: str | None = None) -> None:
        self.model = model
        self.json_tool = json_tool
        self.text_completion = text_completion
        self.id = new_id("cmpl" if text_completion else "chatcmpl", request_id)
        self.created = int(time.time())
        self.stopped = False
        self._usage: dict[str, Any] | None = None
        self._tool_index: dict[int, int] = {}  # Bedrock contentBlockIndex -> OpenAI tool_calls index
        self._json_blocks: set[int] = set()

    def on_event(self, event_type: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Translate one event (`messageStart`, `contentBlockDelta`, …) into zero or more chunks."""
        if event_type == "messageStart":
            return [] if self.text_completion else [self._chunk({"role": "assistant", "content": ""})]
        if event_type == "contentBlockStart":
            return self._block_start(payload)
        if event_type == "contentBlockDelta":
            return self._block_delta(payload)
        if event_type == "messageStop":
            self.stopped = True
            reason = finish_reason(payload.get("stopReason"), json_mode=self.json_tool is not None)
            return [self._chunk({}, reason)]
        if event_type == "metadata":
            self._usage = usage_from_converse(payload.get("usage"))
        # contentBlockStop and unknown future events carry nothing a client needs.
        return []

    def finish(self) -> dict[str, Any]:
        """The closing usage chunk (zeros if the upstream never sent `metadata`)."""
        usage = self._usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        return {"id": self.id, "object": self._object, "created": self.created, "model": self.model,
                "choices": [], "usage": usage}

    @property
    def _object(self) -> str:
        return "text_completion" if self.text_completion else "chat.completion.chunk"

    def _block_start(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        use = (payload.get("start") or {}).get("toolUse")
        if not isinstance(use, dict):
            return []
        block = int(payload.get("contentBlockIndex", 0))
        if self.json_tool is not None and use.get("name") == self.json_tool:
            self._json_blocks.add(block)
            return []
        return [self._tool_header(block, str(use.get("toolUseId", "")), str(use.get("name", "")))]

    def _tool_header(self, block: int, call_id: str, name: str) -> dict[str, Any]:
        index = self._tool_index.setdefault(block, len(self._tool_index))
        return self._chunk({"tool_calls": [{"index": index, "id": call_id or f"call_{self.id}_{index}",
                                            "type": "function",
                                            "function": {"name": name, "arguments": ""}}]})

    def _block_delta(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        delta = payload.get("delta") or {}
        block = int(payload.get("contentBlockIndex", 0))
        if "text" in delta:
            return [self._text(delta["text"])]
        if "toolUse" in delta:
            fragment = str((delta["toolUse"] or {}).get("input", ""))
            if block in self._json_blocks:
                return [self._text(fragment)] if fragment else []
            out = [] if block in self._tool_index else [self._tool_header(block, "", "")]
            index = self._tool_index[block]
            out.append(self._chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
            return out
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict) and reasoning.get("text") and not self.text_completion:
            # Signatures and redacted reasoning have no OpenAI field; only readable text is passed on.
            return [self._chunk({"reasoning_content": reasoning["text"]})]
        return []

    def _text(self, text: str) -> dict[str, Any]:
        if self.text_completion:
            return self._chunk({}, None, text=text)
        return self._chunk({"content": text})

    def _chunk(self, delta: dict[str, Any], reason: str | None = None, *, text: str | None = None) -> dict[str, Any]:
        if self.text_completion:
            choice: dict[str, Any] = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": reason}
        else:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return {"id": self.id, "object": self._object, "created": self.created, "model": self.model,
                "choices": [choice]}
