"""A provider whose adapter could not be imported (a missing package): it fails alone.

The server still starts and every other provider serves; this one's models answer
502 naming what is missing, its validation says so, and `/health/ready` lists it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bonito.providers.base import Call, ModelInfo, UpstreamError, ValidationResult


class UnavailableProvider:
    """Stands in for an adapter that failed to load; `reason` says what to install."""

    def __init__(self, provider_id: str, config: Any, type_: str, reason: str) -> None:
        self.id = provider_id
        self.type = type_
        self.config = config
        self.reason = reason

    def _error(self) -> UpstreamError:
        # not transient: retrying cannot install a package; failover to another target still applies
        return UpstreamError(502, f"provider '{self.id}' ({self.type}) cannot serve: {self.reason}",
                             kind="http", type="provider_unavailable", code="provider_unavailable")

    async def invoke(self, call: Call) -> dict[str, Any]:
        raise self._error()

    async def stream(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        raise self._error()
        yield {}  # pragma: no cover - makes this an async generator, as the protocol expects

    async def embed(self, call: Call) -> dict[str, Any]:
        raise self._error()

    async def list_models(self) -> list[ModelInfo]:
        raise self._error()

    async def validate(self) -> ValidationResult:
        return ValidationResult(False, f"the {self.type} adapter cannot load: {self.reason}")

    async def health(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None
