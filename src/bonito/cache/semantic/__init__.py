"""Semantic matching for chat: an encoder, a near-miss check and a per-org index."""
