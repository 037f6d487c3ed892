"""Provider types by name. Adding a wire format is one module and one line here."""

from __future__ import annotations

import importlib
from typing import Any

from bonito.providers.base import Provider

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


def build_provider(provider_id: str, config: Any) -> Provider:
    """Instantiate the adapter for one configured provider account."""
    return provider_class(config.type)(provider_id, config)  # type: ignore[no-any-return]
