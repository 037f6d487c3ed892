"""The control-plane ASGI app: FastAPI routers (see `routers.py`) behind the hardening middleware."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI

from bonito.control.context import ControlContext
from bonito.control.errors import install_error_handlers
from bonito.control.middleware import Hardening
from bonito.control.routers import ROUTERS


def create_control_app(ctx: ControlContext) -> FastAPI:
    """The FastAPI app for /api (OpenAPI at /api/openapi.json); wrap with `harden` to serve it."""
    app = FastAPI(title="Bonito control plane", version="1", openapi_url="/api/openapi.json",
                  docs_url="/api/docs", redoc_url=None)
    app.state.ctx = ctx
    install_error_handlers(app)
    for path in ROUTERS:
        module, _, attr = path.partition(":")
        app.include_router(getattr(importlib.import_module(module), attr))
    return app


def harden(app: Any, ctx: ControlContext) -> Hardening:
    """Security headers, CORS allow-list and the body limit around the app."""
    def origins() -> tuple[str, ...]:
        return (*ctx.cors_origins, *ctx.get_snapshot().cors_origins)

    return Hardening(app, origins, ctx.max_body_bytes)
