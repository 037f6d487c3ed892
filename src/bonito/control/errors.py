"""Control-plane errors and how they are answered.

Services raise these; handlers turn them (and validation errors, and database
errors caused by input) into 4xx JSON. Validation answers name the field but
never echo the input: it may be a password or a credential.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("bonito.control")


class ApiError(Exception):
    status = 400

    def __init__(self, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.headers = headers


class NotFound(ApiError):
    status = 404

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Unauthorized(ApiError):
    status = 401

    def __init__(self, detail: str = "Not authenticated") -> None:
        super().__init__(detail, {"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status = 403


class Conflict(ApiError):
    status = 409


class TooManyRequests(ApiError):
    status = 429


class Invalid(ApiError):
    """422 naming the field, in FastAPI's validation shape."""

    status = 422

    def __init__(self, field: str | list[str | int], message: str, where: str = "body") -> None:
        loc: list[str | int] = [where, *([field] if isinstance(field, str) else field)]
        super().__init__([{"loc": loc, "msg": message, "type": "value_error"}])


def _clean(errors: list[Any]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        loc = [p for p in e.get("loc", ()) if isinstance(p, str | int)]
        out.append({"loc": loc, "msg": str(e.get("msg", "invalid value")), "type": str(e.get("type", ""))})
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _clean(list(exc.errors()))}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "conflicts with an existing object (a name must be unique)"}, 409)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return JSONResponse({"detail": "a value is out of range or malformed"}, 422)
