"""Bonito: one control plane and one OpenAI-compatible gateway for AI across clouds."""

__version__ = "0.1.0"
