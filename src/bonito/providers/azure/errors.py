"""Azure OpenAI error answers -> `UpstreamError` (OpenAI's envelope, plus Azure's own shapes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bonito.providers.base import UpstreamError
from bonito.providers.openai import error_from_response
from bonito.providers.transport import json_or_none


def error_from_azure(status: int, headers: Mapping[str, str] | None, body: bytes) -> UpstreamError:
    """Map an Azure error; `{"error": …}` bodies (incl. content_filter) are kept whole for pass-through."""
    parsed = json_or_none(body)
    if isinstance(parsed, dict) and "error" not in parsed and "message" in parsed:
        # The resource front door answers `{"statusCode": 401, "message": "Access denied…"}`.
        message = str(parsed["message"])
        code = str(parsed.get("statusCode") or status)
        exc = UpstreamError(status, message, code=code,
                            body={"error": {"message": message, "type": "upstream_error", "param": None, "code": code}})
    else:
        exc = error_from_response(status, headers, body)
    retry_ms = _float(headers.get("retry-after-ms") if headers is not None else None)
    if retry_ms is not None:  # Azure's finer-grained hint wins over Retry-After
        exc.retry_after_s = retry_ms / 1000
    return exc


def _float(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
