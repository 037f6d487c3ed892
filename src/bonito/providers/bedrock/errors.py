"""Bedrock error answers (HTTP errors and in-stream exception frames) as UpstreamErrors.

Bedrock names the error class in the `x-amzn-errortype` header
(`ValidationException:http://internal.amazon.com/...`), sometimes in the
body's `__type`, and puts the text in `message` (or `Message`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from bonito.providers.base import UpstreamError, retry_after_s
from bonito.providers.transport import json_or_none

# error class -> (HTTP status we answer with, OpenAI error type)
_CLASSES: dict[str, tuple[int, str]] = {
    "ThrottlingException": (429, "rate_limit_error"),
    "ServiceQuotaExceededException": (429, "rate_limit_error"),
    "TooManyRequestsException": (429, "rate_limit_error"),
    "ValidationException": (400, "invalid_request_error"),
    "SerializationException": (400, "invalid_request_error"),
    "AccessDeniedException": (403, "permission_error"),
    "ResourceNotFoundException": (404, "not_found_error"),
    "ModelNotReadyException": (503, "upstream_error"),
    "ServiceUnavailableException": (503, "upstream_error"),
    "ModelTimeoutException": (504, "timeout"),
    "InternalServerException": (500, "upstream_error"),
    "ModelErrorException": (502, "upstream_error"),
    "ModelStreamErrorException": (502, "upstream_error"),
}

# The provider's own credentials were refused: not the client's fault, so not a
# 401/403 the gateway would pass through as if the client's key were wrong.
_CREDENTIAL_CLASSES = frozenset({
    "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
    "IncompleteSignatureException", "MissingAuthenticationTokenException", "InvalidClientTokenId",
    "SignatureDoesNotMatch", "ExpiredToken",
})


def error_class(headers: Mapping[str, str] | None, parsed: Any) -> str:
    """The AWS error class name from the header, else the body's `__type`/`code`, else ""."""
    raw = (headers or {}).get("x-amzn-errortype", "") or ""
    if not raw and isinstance(parsed, dict):
        raw = str(parsed.get("__type") or parsed.get("code") or "")
    # "ValidationException:http://..." and "com.amazon.coral#ValidationException" both occur.
    return normalize_class(raw.split(":", 1)[0].rsplit("#", 1)[-1])


def normalize_class(name: str) -> str:
    """In-stream exception names start lower-case (`throttlingException`); HTTP ones do not."""
    return name[:1].upper() + name[1:] if name else name


def error_from_http(status: int, headers: Mapping[str, str] | None, body: bytes) -> UpstreamError:
    """Map a non-2xx Bedrock answer to an UpstreamError with the OpenAI vocabulary."""
    parsed = json_or_none(body)
    cls = error_class(headers, parsed)
    message = ""
    if isinstance(parsed, dict):
        message = str(parsed.get("message") or parsed.get("Message") or "")
    if not message:
        message = body[:200].decode("utf-8", "replace").strip() or f"Bedrock answered {status}"
    retry_after = retry_after_s((headers or {}).get("retry-after"))
    return build_error(cls, message, status, retry_after_s=retry_after)


def build_error(
    cls: str, message: str, status: int = 500, *, kind: Literal["http", "stream"] = "http",
    retry_after_s: float | None = None,
) -> UpstreamError:
    """The UpstreamError for one Bedrock error class (unknown classes keep `status`)."""
    if cls in _CREDENTIAL_CLASSES:
        return UpstreamError(
            502, f"Bedrock rejected the provider's AWS credentials ({cls}): {message}",
            kind=kind, type="upstream_error", code=cls,
        )
    mapped_status, err_type = _CLASSES.get(cls, (status if status >= 400 else 502, "upstream_error"))
    code = "model_not_found" if mapped_status == 404 else (cls or None)
    return UpstreamError(
        mapped_status, message, kind=kind, type=err_type, code=code,
        retry_after_s=retry_after_s,
    )


def error_from_exception_frame(headers: Mapping[str, Any], payload: bytes) -> UpstreamError:
    """An in-stream `exception` (or legacy `error`) frame: the stream broke after it began."""
    parsed = json_or_none(payload)
    if headers.get(":message-type") == "error":
        cls = str(headers.get(":error-code", ""))
        message = str(headers.get(":error-message", "") or "")
    else:
        cls = str(headers.get(":exception-type", ""))
        message = str(parsed.get("message") or parsed.get("Message") or "") if isinstance(parsed, dict) else ""
    cls = normalize_class(cls)
    return build_error(cls, message or f"Bedrock stream failed ({cls or 'unknown error'})", 502, kind="stream")
