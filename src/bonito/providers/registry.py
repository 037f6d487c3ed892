"""Provider types by name. Adding a wire format is one module and one line here."""

from __future__ import annotations

import importlib
import logging
from functools import cache
from typing import Any

from bonito.providers.base import Provider
from bonito.providers.unavailable import UnavailableProvider

log = logging.getLogger("bonito.providers")

# type -> "module:class"; imported on first use so startup pays only for what config uses.
PROVIDER_TYPES: dict[str, str] = {
    "openai": "bonito.providers.openai:OpenAIProvider",
    "azure": "bonito.providers.azure:AzureProvider",
    "bedrock": "bonito.providers.bedrock:BedrockProvider",
    "vertex": "bonito.providers.vertex:VertexProvider",
    "anthropic": "bonito.providers.anthropic:AnthropicProvider",
}


def provider_class(type_: str) -> type[Any]:
    """The adapter class for a provider type."""
    module_name, _, cls_name = PROVIDER_TYPES[type_].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)  # type: ignore[no-any-return]


# type -> why its adapter cannot be imported; process-wide like sys.modules, filled once per type
_FAILURES: dict[str, str] = {}


@cache
def load_failure(type_: str) -> str | None:
    """Why a provider type's adapter cannot be imported (None when it can); logged once per process."""
    try:
        provider_class(type_)
    except ImportError as exc:
        missing = exc.name or str(exc)
        reason = (f"the Python package '{missing}' is missing ({exc}); reinstall Bonito with its "
                  f"dependencies (pip install bonito)")
        log.error("%s providers cannot serve: %s", type_, reason)
        _FAILURES[type_] = reason
        return reason
    return None


def unavailable_types() -> dict[str, str]:
    """Provider types configured so far whose adapter failed to load, with the reason (for /health/ready)."""
    return dict(_FAILURES)


def build_provider(provider_id: str, config: Any) -> Provider:
    """Instantiate the adapter for one configured provider account; one that cannot load fails alone."""
    reason = load_failure(config.type)
    if reason is not None:
        return UnavailableProvider(provider_id, config, config.type, reason)
    return provider_class(config.type)(provider_id, config)  # type: ignore[no-any-return]
