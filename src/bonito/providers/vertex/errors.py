"""Vertex AI error answers (`{"error": {"code", "message", "status"}}`) as `UpstreamError`s."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bonito.providers.base import UpstreamError, retry_after_s
from bonito.providers.transport import json_or_none

# google.rpc.Code names -> HTTP status; the name is more reliable than the status
# line, which proxies in front of Vertex sometimes rewrite.
_STATUS_BY_CODE = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    429: "rate_limit_exceeded",
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def vertex_error(status: int, headers: Mapping[str, str] | None, body: bytes) -> UpstreamError:
    """Map a non-2xx Vertex answer to an UpstreamError with an OpenAI-shaped body."""
    parsed = json_or_none(body)
    # streamGenerateContent?alt=sse sometimes wraps the error in a one-element list.
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]
    err = parsed.get("error") if isinstance(parsed, dict) else None
    retry_after = _retry_after(headers, err if isinstance(err, dict) else None)
    if not isinstance(err, dict):
        text = body[:200].decode("utf-8", "replace").strip() or f"Vertex AI answered {status}"
        return UpstreamError(status, text, type=_TYPE_BY_STATUS.get(status, "upstream_error"),
                             retry_after_s=retry_after)
    rpc_status = str(err.get("status") or "")
    mapped = _STATUS_BY_CODE.get(rpc_status, status if status >= 400 else 502)
    message = str(err.get("message") or f"Vertex AI answered {status}")
    return error_from_rpc(mapped, rpc_status, message, retry_after)


def stream_error(event: Mapping[str, Any]) -> UpstreamError:
    """An `error` object that arrived inside a 200 SSE stream (after chunks were sent)."""
    err = event.get("error")
    err = err if isinstance(err, dict) else {}
    rpc_status = str(err.get("status") or "")
    status = _STATUS_BY_CODE.get(rpc_status, 502)
    exc = error_from_rpc(status, rpc_status, str(err.get("message") or "Vertex AI stream failed"), None)
    exc.kind = "stream"
    return exc


def error_from_rpc(status: int, rpc_status: str, message: str, retry_after: float | None) -> UpstreamError:
    """Build the UpstreamError (and its OpenAI error body) for one google.rpc status."""
    err_type = _TYPE_BY_STATUS.get(status, "upstream_error")
    code = rpc_status.lower() or None
    if status == 404 and "model" in message.lower():
        code = "model_not_found"
    body = {"error": {"message": message, "type": err_type, "param": None, "code": code}}
    return UpstreamError(status, message, type=err_type, code=code, retry_after_s=retry_after, body=body)


def _retry_after(headers: Mapping[str, str] | None, err: Mapping[str, Any] | None) -> float | None:
    from_header = retry_after_s(headers.get("retry-after") if headers is not None else None)
    if from_header is not None:
        return from_header
    # RESOURCE_EXHAUSTED may carry google.rpc.RetryInfo {"retryDelay": "30s"} in details.
    for detail in (err or {}).get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            m = _DURATION.match(str(detail.get("retryDelay", "")))
            if m:
                return float(m.group(1))
    return None
