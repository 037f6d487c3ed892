"""Semantic matching for chat: an encoder, a second stage refusing near-misses (rules, word alignment), a per-org index."""
