"""Dev prompts and a compiled snapshot for the smart routing tests."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from bonito.config.loader import parse_config
from bonito.gateway.compile import compile_config
from bonito.snapshot import Snapshot

DEV = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "routing" / "dev.jsonl"


def dev_prompts(n: int, seed: int = 7) -> list[str]:
    """`n` dev prompts drawn with a fixed seed (both sources)."""
    rows: list[dict[str, Any]] = [json.loads(line) for line in DEV.read_text(encoding="utf-8").split("\n")
                                  if line.strip()]
    return [r["prompt"] for r in random.Random(seed).sample(rows, n)]


def snapshot(routes: str) -> Snapshot:
    """Models cheap (b), mid (a) and dear (c) on fake providers, and `routes` (YAML under `routes:`)."""
    text = f"""\
version: 1
providers:
  p: {{type: openai, base_url: "http://127.0.0.1:9", api_key: sk-x}}
models:
  a-model: {{provider: p, model: model-a, input_cost_per_mtok: 0.1, output_cost_per_mtok: 10}}
  b-model: {{provider: p, model: model-b, input_cost_per_mtok: 1, output_cost_per_mtok: 1}}
  c-model: {{provider: p, model: model-c, input_cost_per_mtok: 30, output_cost_per_mtok: 60}}
keys: []
routes:
{routes}"""
    return compile_config(parse_config(text, environ={}), 1)
