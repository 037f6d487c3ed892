"""Anthropic Messages API adapter."""

from bonito.providers.anthropic.provider import AnthropicProvider

__all__ = ["AnthropicProvider"]
