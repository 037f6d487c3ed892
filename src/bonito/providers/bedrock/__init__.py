"""AWS Bedrock: Converse / ConverseStream for chat, InvokeModel for Titan and Cohere embeddings."""

from bonito.providers.bedrock.provider import BedrockProvider

__all__ = ["BedrockProvider"]
