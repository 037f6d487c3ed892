"""bonito.yaml texts for tests."""

from __future__ import annotations

KEY = "bn-test-key-0001"
LIMITED_KEY = "bn-limited-key-0002"
NARROW_KEY = "bn-narrow-key-0003"


def basic_config(upstream_url: str, *, api_key: str = "sk-upstream", rpm: int = 10_000, extra: str = "") -> str:
    """One OpenAI-compatible provider, a chat and an embeddings model, three keys."""
    return f"""\
version: 1
providers:
  local-openai:
    type: openai
    base_url: {upstream_url}
    api_key: {api_key}
models:
  gpt-4o-mini:
    provider: local-openai
    model: gpt-4o-mini
    input_cost_per_mtok: 0.15
    output_cost_per_mtok: 0.60
  fast-chat:
    provider: local-openai
    model: upstream-fast-model
    input_cost_per_mtok: 250000
    output_cost_per_mtok: 0
  text-embedding-3-small:
    provider: local-openai
    model: text-embedding-3-small
    input_cost_per_mtok: 0.02
keys:
  - name: ci
    key: {KEY}
    requests_per_minute: {rpm}
  - name: limited
    key: {LIMITED_KEY}
    requests_per_minute: 3
  - name: narrow
    key: {NARROW_KEY}
    allowed_models: [gpt-4o-mini]
{extra}"""
