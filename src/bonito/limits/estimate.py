"""A request's token count before the call: about four characters a token, plus the
completion it may ask for. Real usage replaces the estimate when the call ends."""

from __future__ import annotations

from typing import Any

_PER_MESSAGE = 4  # role and separators, as OpenAI counts them


def estimate_tokens(body: dict[str, Any]) -> int:
    """Prompt tokens of a chat, completion or embeddings body, plus max_(completion_)tokens."""
    chars = 0
    tokens = 0
    messages = body.get("messages")
    if isinstance(messages, list):
        for m in messages:
            tokens += _PER_MESSAGE
            if isinstance(m, dict):
                chars += _chars(m.get("content"))
    for field in ("prompt", "input"):
        if field in body:
            value = body[field]
            if isinstance(value, list) and value and all(isinstance(x, int) for x in value):
                tokens += len(value)  # already tokens
            else:
                chars += _chars(value)
    tokens += (chars + 3) // 4
    cap = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(cap, int) and cap > 0:
        tokens += cap
    return tokens


def _chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_chars(v) for v in value)
    if isinstance(value, dict):
        text = value.get("text")
        return len(text) if isinstance(text, str) else 0
    return 0
