"""Gemini `streamGenerateContent?alt=sse` events -> OpenAI stream chunks (pure, stateful).

Each SSE event is a whole GenerateContentResponse holding the next slice of
each candidate; function calls arrive whole (never split across events) and
`usageMetadata` is cumulative, so the last one seen is the answer's usage.
finish_reason is sent once the stream ends, when it is known whether the
answer held tool calls, followed by the usage chunk OpenAI sends last.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bonito.providers.vertex.gemini import finish_reason, new_id, split_parts, usage


@dataclass(slots=True)
class _Choice:
    started: bool = False
    tool_calls: int = 0
    raw_finish: str | None = None


class StreamTranslator:
    """Feed parsed SSE events with `feed`; call `finish` at the end of the stream.

    With `text_completion=True` the chunks are legacy `text_completion` objects
    (for /v1/completions) instead of `chat.completion.chunk`s.
    """

    def __init__(self, model: str, *, text_completion: bool = False) -> None:
        self._model = model
        self._text = text_completion
        self._id = ""
        self._created = int(time.time())
        self._choices: dict[int, _Choice] = {}
        self._usage: Mapping[str, Any] | None = None
        self._blocked = False

    def feed(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The chunks for one GenerateContentResponse event."""
        if not self._id:
            rid = event.get("responseId")
            prefix = "cmpl-" if self._text else "chatcmpl-"
            self._id = f"{prefix}{rid}" if rid else new_id(prefix)
        if event.get("usageMetadata"):
            self._usage = event["usageMetadata"]
        if (event.get("promptFeedback") or {}).get("blockReason"):
            self._blocked = True
        out: list[dict[str, Any]] = []
        for pos, cand in enumerate(event.get("candidates") or []):
            index = int(cand.get("index", pos))
            state = self._choices.setdefault(index, _Choice())
            text, thoughts, calls = split_parts((cand.get("content") or {}).get("parts"), state.tool_calls)
            state.tool_calls += len(calls)
            if cand.get("finishReason"):
                state.raw_finish = str(cand["finishReason"])
            delta: dict[str, Any] = {}
            if text or not state.started:
                delta["content"] = text
            if thoughts:
                delta["reasoning_content"] = thoughts
            if calls:
                delta["tool_calls"] = calls
            if not state.started:
                delta = {"role": "assistant", **delta}
                state.started = True
            if text or thoughts or calls or ("role" in delta and not self._text):
                out.append(self._chunk(index, delta, None))
        return out

    def finish(self) -> list[dict[str, Any]]:
        """The closing chunks: one finish_reason per choice, then the usage chunk."""
        if not self._id:
            self._id = new_id("cmpl-" if self._text else "chatcmpl-")
        out: list[dict[str, Any]] = []
        if not self._choices:
            # A blocked prompt yields no candidates: answer an empty, filtered choice.
            reason = "content_filter" if self._blocked else "stop"
            out.append(self._chunk(0, {"role": "assistant", "content": ""}, None))
            out.append(self._chunk(0, {}, reason))
        for index in sorted(self._choices):
            state = self._choices[index]
            out.append(self._chunk(index, {}, finish_reason(state.raw_finish, state.tool_calls > 0)))
        out.append({"id": self._id, "object": self._object, "created": self._created,
                    "model": self._model, "choices": [], "usage": usage(self._usage)})
        return out

    @property
    def _object(self) -> str:
        return "text_completion" if self._text else "chat.completion.chunk"

    def _chunk(self, index: int, delta: dict[str, Any], reason: str | None) -> dict[str, Any]:
        if self._text:
            choice: dict[str, Any] = {"text": delta.get("content") or "", "index": index,
                                      "logprobs": None, "finish_reason": reason}
        else:
            choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}
        return {"id": self._id, "object": self._object, "created": self._created,
                "model": self._model, "choices": [choice]}
