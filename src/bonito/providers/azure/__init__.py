"""Azure OpenAI adapter (api-key or Entra ID)."""

from bonito.providers.azure.provider import AzureProvider

__all__ = ["AzureProvider"]
