"""What makes two requests identical, and what a client's Cache-Control asks for."""

from __future__ import annotations

from hashlib import sha256
from typing import Any

import orjson

# fields that change how an answer is delivered or attributed, not what it says
IGNORED_FIELDS = frozenset({"stream", "stream_options", "user", "metadata"})


def exact_digest(org: str, public_model: str, op: str, body: dict[str, Any]) -> str:
    """SHA-256 over org, public model, endpoint and the body less the ignored fields (keys sorted)."""
    rest = {k: v for k, v in body.items() if k not in IGNORED_FIELDS and k != "model"}
    return sha256(orjson.dumps([org, public_model, op, rest], option=orjson.OPT_SORT_KEYS)).hexdigest()


def semantic_split(org: str, public_model: str, body: dict[str, Any]) -> tuple[str, str] | None:
    """(context digest, text) for a semantic lookup: the last message's text is compared by meaning;
    everything else (other fields, earlier messages, roles) must be identical, so it is hashed.
    None when the last message has no plain text to compare."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    last = messages[-1]
    text = _text(last.get("content"))
    if not text or not text.strip():
        return None
    rest = {k: v for k, v in body.items() if k not in IGNORED_FIELDS and k not in ("model", "messages")}
    shape = {k: v for k, v in last.items() if k != "content"}
    digest = sha256(orjson.dumps([org, public_model, rest, messages[:-1], shape],
                                 option=orjson.OPT_SORT_KEYS)).hexdigest()
    return digest, text


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return "\n".join(str(p.get("text", "")) for p in content)
    return None  # images, audio: only an exact match may serve them


def cache_control(value: bytes | None) -> tuple[bool, bool]:
    """(no_cache, no_store) from a Cache-Control header; no-store implies no-cache."""
    if not value:
        return False, False
    directives = {d.strip().split(b"=", 1)[0].lower() for d in value.split(b",")}
    no_store = b"no-store" in directives
    return no_store or b"no-cache" in directives, no_store
