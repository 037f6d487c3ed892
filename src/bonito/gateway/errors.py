"""Gateway errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""

from __future__ import annotations

from typing import Any

import orjson


class GatewayError(Exception):
    """An error answered to the client with `status` and an OpenAI-shaped body."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or []
        self._body = body

    def body(self) -> bytes:
        if self._body is not None:
            return orjson.dumps(self._body)
        return orjson.dumps(
            {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        )


def missing_key() -> GatewayError:
    return GatewayError(
        401,
        "Missing API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
        type="invalid_request_error", code="invalid_api_key",
    )


def unknown_key() -> GatewayError:
    return GatewayError(401, "Invalid API key.", type="invalid_request_error", code="invalid_api_key")


def model_not_found(model: str) -> GatewayError:
    return GatewayError(
        404, f"The model '{model}' does not exist or is not served by this gateway.",
        type="invalid_request_error", code="model_not_found", param="model",
    )


def model_not_allowed(model: str) -> GatewayError:
    return GatewayError(
        403, f"This API key is not allowed to use the model '{model}'.",
        type="permission_error", code="model_not_allowed", param="model",
    )


def bad_request(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    return GatewayError(400, message, type="invalid_request_error", code=code, param=param)


def body_too_large(limit_bytes: int) -> GatewayError:
    mb = limit_bytes / (1024 * 1024)
    return GatewayError(
        413, f"Request body too large: the limit is {mb:g} MB.", type="invalid_request_error",
        code="request_too_large",
    )


def not_found_path(path: str) -> GatewayError:
    return GatewayError(404, f"Unknown endpoint: {path}", type="invalid_request_error", code="unknown_url")


def method_not_allowed(method: str, path: str) -> GatewayError:
    return GatewayError(405, f"Method {method} is not allowed on {path}", type="invalid_request_error",
                        code="method_not_allowed")


def internal_error() -> GatewayError:
    return GatewayError(500, "The gateway failed to handle this request; it has been logged.", type="server_error",
                        code="internal_error")
