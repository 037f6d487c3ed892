"""What the reporter lets out of the network, and the token file followed without a restart."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bonito.agent.reporter import encode
from bonito.agent.token import OrgToken
from bonito.usage.record import UsageRecord


def test_an_upstream_error_message_does_not_leave_the_network() -> None:
    rec = UsageRecord(request_id="r", org_id="o", key_id="k", key_name="ci", model_requested="m", status=400,
                      error="Invalid prompt: 'my secret text'",
                      decision={"route": "x", "attempts": [{"model": "m", "outcome": "error", "status": 400,
                                                            "error": "my secret text again"}]})
    out = encode(rec).decode()
    assert "secret" not in out and "status 400" in out
    gone = UsageRecord(request_id="r", org_id="o", key_id="k", key_name="ci", model_requested="m", status=499,
                       error="client disconnected mid-stream")
    assert b'"error":"client disconnected mid-stream"' in encode(gone)


def test_a_changed_token_file_is_used_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("bt-first\n")
    token = OrgToken(token_file=str(path))
    assert token() == "bt-first"
    tmp = tmp_path / "token.new"
    tmp.write_text("bt-second")
    os.replace(tmp, path)  # how a mounted secret changes
    deadline = time.monotonic() + 5
    while token() != "bt-second" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert token() == "bt-second"
    assert OrgToken(token=" bt-fixed ")() == "bt-fixed"
