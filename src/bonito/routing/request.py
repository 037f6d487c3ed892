"""What routing may look at in a request: its body, its metadata, and estimates derived from them.

Derived values (prompt text, token estimates) are computed on first use only,
so a failover route pays for none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from bonito.routing.errors import RequestRefused

# ~4 characters per token: a good enough estimate for ranking by cost.
CHARS_PER_TOKEN = 4
# Completion length assumed when the request sets no max_tokens.
DEFAULT_COMPLETION_TOKENS = 256


class RouteRequest:
    """A request as routing sees it. `metadata` merges the header's JSON under the body's."""

    __slots__ = ("_metadata", "_metadata_header", "_text", "body", "smart_score")

    def __init__(self, body: Mapping[str, Any], metadata_header: bytes | str | None = None) -> None:
        self.body = body
        self._metadata_header = metadata_header
        self._metadata: dict[str, Any] | None = None
        self._text: str | None = None
        # (score, scorer name) when a route's own scorer judged the prompt before planning
        self.smart_score: tuple[float, str] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """`x-bonito-metadata` (a JSON object) overlaid by the body's `metadata` object."""
        if self._metadata is None:
            merged: dict[str, Any] = {}
            if self._metadata_header:
                try:
                    parsed = orjson.loads(self._metadata_header)
                except orjson.JSONDecodeError:
                    parsed = None
                if not isinstance(parsed, dict):
                    raise RequestRefused("The x-bonito-metadata header must be a JSON object.",
                                         param="x-bonito-metadata")
                merged.update(parsed)
            body_meta = self.body.get("metadata")
            if isinstance(body_meta, dict):
                merged.update(body_meta)
            self._metadata = merged
        return self._metadata

    def check(self) -> None:
        """Fail early (400) on a malformed metadata header, whether or not a rule reads it."""
        if self._metadata_header:
            _ = self.metadata

    @property
    def prompt_text(self) -> str:
        """The text the model will read: message contents (text parts), or the completion prompt."""
        if self._text is None:
            self._text = _text_of(self.body)
        return self._text

    @property
    def last_user_text(self) -> str:
        """The latest user message (what a complexity judgement is about), else the whole prompt."""
        messages = self.body.get("messages")
        if isinstance(messages, list):
            for m in reversed(messages):
                if isinstance(m, dict) and m.get("role") == "user":
                    return _content_text(m.get("content"))
        return self.prompt_text

    @property
    def prompt_tokens(self) -> int:
        return max(1, (len(self.prompt_text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)

    @property
    def completion_tokens(self) -> int:
        for name in ("max_completion_tokens", "max_tokens"):
            v = self.body.get(name)
            if isinstance(v, int) and v > 0:
                return v
        return DEFAULT_COMPLETION_TOKENS

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def sticky_id(self) -> str | None:
        """Who the request is for, when the client says (A/B tests keep a user on one arm)."""
        for value in (self.metadata.get("user_id"), self.body.get("user")):
            if isinstance(value, str) and value:
                return value
        return None


def _text_of(body: Mapping[str, Any]) -> str:
    messages = body.get("messages")
    if isinstance(messages, list):
        return "\n".join(_content_text(m.get("content")) for m in messages if isinstance(m, dict))
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return "\n".join(p for p in prompt if isinstance(p, str))
    inp = body.get("input")
    if isinstance(inp, str):
        return inp
    if isinstance(inp, list):
        return "\n".join(p for p in inp if isinstance(p, str))
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
