"""bonito.yaml for the limits tests: every key's calls cost exactly $0.25 on `quarter`."""

from __future__ import annotations

RPM_KEY = "bn-limits-rpm-50"
TOKEN_KEY = "bn-limits-tokens-100"
BUDGET_KEY = "bn-limits-budget-1usd"
SMALL_KEY = "bn-limits-rpm-3"
MESSAGES = [{"role": "user", "content": "Hi"}]  # the fake upstream counts 8 prompt + 5 completion tokens


def limits_config(upstream_url: str, redis_url: str | None, *, on_redis_error: str = "open",
                  extra: str = "") -> str:
    redis = f"redis_url: {redis_url}\n" if redis_url else ""
    return f"""\
version: 1
{redis}limits:
  on_redis_error: {on_redis_error}
providers:
  local-openai:
    type: openai
    base_url: {upstream_url}
    api_key: sk-upstream
models:
  quarter:
    provider: local-openai
    model: gpt-4o-mini
    input_cost_per_mtok: 31250
    output_cost_per_mtok: 0
keys:
  - name: rpm
    key: {RPM_KEY}
    requests_per_minute: 50
  - name: tokens
    key: {TOKEN_KEY}
    requests_per_minute: 1000
    tokens_per_minute: 100
  - name: budget
    key: {BUDGET_KEY}
    requests_per_minute: 1000
    budget: {{usd: 1, period: daily}}
  - name: small
    key: {SMALL_KEY}
    requests_per_minute: 3
{extra}"""
