"""The pulled config compiled with the agent's own credentials: a provider it cannot build, and a
route that cannot be served without it, are left out and reported; the rest serves."""

from __future__ import annotations

from typing import Any

from bonito.agent.compile import compile_document
from bonito.agent.run import load_local_config


def _doc() -> dict[str, Any]:
    return {
        "format": 1, "version": 7, "org_id": "org_a", "tier": "pro",
        "providers": {"prv_1": {"name": "local-openai", "type": "openai"},
                      "prv_2": {"name": "corp-azure", "type": "azure"}},
        "models": {"small": {"provider": "prv_1", "model": "gpt-4o-mini", "input_cost_per_mtok": "0.15",
                             "output_cost_per_mtok": "0.60"},
                   "big": {"provider": "prv_2", "model": "gpt-4o", "input_cost_per_mtok": None,
                           "output_cost_per_mtok": None}},
        "routes": {"split": {"id": "pol_1", "strategy": "ab_test", "key_sha256": None, "timeout_s": 30,
                             "targets": [{"model": "small", "weight": 50}, {"model": "big", "weight": 50}],
                             "retries": {"max_attempts": 2}, "circuit_breaker": {"failure_threshold": 5}},
                   "fallback": {"id": "pol_2", "strategy": "failover", "key_sha256": "ab" * 32, "timeout_s": 30,
                                "targets": [{"model": "small", "weight": None}, {"model": "big", "weight": None}],
                                "retries": {"max_attempts": 2}, "circuit_breaker": {"failure_threshold": 5}}},
        "keys": [{"id": "key_1", "name": "ci", "key_sha256": "cd" * 32, "requests_per_minute": 60,
                  "tokens_per_minute": None, "allowed_models": ["small"], "expires_at": None},
                 {"id": "key_2", "name": "old", "key_sha256": "ef" * 32, "requests_per_minute": None,
                  "tokens_per_minute": None, "allowed_models": None, "expires_at": "2001-01-01T00:00:00+00:00"}],
        "org_limits": {"requests_per_minute": 100, "tokens_per_minute": None},
        "budgets": [{"key_id": None, "usd": "5", "period": "monthly", "hard": True, "throttle_at_percent": None,
                     "throttle_requests_per_minute": None, "spend_pico": {"period_id": "2026-12", "pico": 42}}],
        "budget_alert_thresholds": [50.0],
    }


def test_what_cannot_be_served_here_is_left_out_and_reported(tmp_path: Any) -> None:
    local = tmp_path / "agent.yaml"
    local.write_text("providers:\n  local-openai:\n    type: openai\n    base_url: http://127.0.0.1:9/v1\n"
                     "    api_key: sk-local\n")
    cfg = compile_document(_doc(), load_local_config(str(local)), '"etag123456789"')
    snap = cfg.snapshot
    assert set(snap.models) == {"small"} and snap.models["small"].org_id == "org_a"
    assert set(snap.routes) == {"fallback"}  # the A/B split cannot keep its weights without "big"
    assert [t.name for t in snap.routes["fallback"].targets] == ["small"]
    assert snap.keys["ab" * 32].route == "fallback" and "ef" * 32 not in snap.keys  # expired key dropped
    assert snap.keys["cd" * 32].allowed_models == frozenset({"small"}) and snap.keys["cd" * 32].tier == "pro"
    assert any("corp-azure" in p for p in cfg.problems) and any("split" in p for p in cfg.problems)
    assert cfg.overlay.orgs["org_a"].requests_per_minute == 100 and cfg.overlay.orgs["org_a"].budget is not None
    assert cfg.overlay.recorded[("org", "org_a", "2026-12")] == 42 and cfg.provider_names["prv_2"] == "corp-azure"
    assert cfg.version.startswith("7:")
