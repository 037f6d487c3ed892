"""Anthropic's error envelope mapped to `UpstreamError` (HTTP answers and mid-stream events)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bonito.providers.base import UpstreamError, retry_after_s
from bonito.providers.openai import error_from_response as _openai_error
from bonito.providers.transport import json_or_none

# Anthropic error type -> the HTTP status it documents (used for in-stream errors,
# which arrive after a 200).
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "timeout_error": 504,
    "api_error": 500,
    "overloaded_error": 529,
}


def error_from_anthropic(status: int, headers: Mapping[str, str] | None, body: bytes) -> UpstreamError:
    """Turn an Anthropic error answer into an UpstreamError with an OpenAI-shaped body."""
    parsed = json_or_none(body)
    err = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(err, dict) or "type" not in err:
        # Not Anthropic's envelope (a proxy, a load balancer): fall back to the generic reader.
        return _openai_error(status, headers, body)
    exc = _from_error_object(status, err)
    exc.retry_after_s = retry_after_s(headers.get("retry-after") if headers is not None else None)
    return exc


def stream_error(payload: Mapping[str, Any]) -> UpstreamError:
    """An `event: error` received after the stream started: kind="stream"."""
    err = payload.get("error")
    err = err if isinstance(err, dict) else {}
    status = ERROR_STATUS.get(str(err.get("type", "")), 502)
    exc = _from_error_object(status, err)
    exc.kind = "stream"
    return exc


def _from_error_object(status: int, err: Mapping[str, Any]) -> UpstreamError:
    etype = str(err.get("type") or "api_error")
    message = str(err.get("message") or f"upstream answered {status}")
    openai_type = "invalid_request_error" if etype in ("invalid_request_error", "not_found_error") else etype
    body = {"error": {"message": message, "type": openai_type, "param": None, "code": etype}}
    return UpstreamError(status, message, type=openai_type, code=etype, body=body)
