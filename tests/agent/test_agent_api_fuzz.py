"""Schemathesis over the agent and agent-token endpoints with a real bt- token and an org admin:
no generated input makes them answer 5xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.agent.conftest import issue_token
from tests.control.helpers import Account, Api
from tests.support.server import BonitoServer

EXAMPLES = 40


def test_no_input_makes_the_agent_endpoints_answer_5xx(api: Api, control: BonitoServer) -> None:
    fuzz_agent_endpoints(api, control)


def fuzz_agent_endpoints(api: Api, control: BonitoServer) -> None:
    admin = api.register()
    schema = schemathesis.openapi.from_url(control.url + "/api/openapi.json")
    failures: list[str] = []
    authenticated: set[str] = set()
    ops = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    ops = [op for op in ops if "/agent" in op.path]
    assert len(ops) >= 6
    for op in ops:
        token = issue_token(api, admin)  # fresh: a fuzzed rotation or revocation may have ended the last
        credential = token if op.path.startswith("/api/agent/") else admin.access
        _fuzzer(op, admin, credential, failures, authenticated)()
    assert {"/api/agent/config", "/api/agent/ingest", "/api/agent/heartbeat"} <= authenticated
    assert not failures, "\n".join(failures[:10]) + f"\n\nserver log:\n{control.logs()[-3000:]}"


def _fuzzer(op: Any, admin: Account, credential: str, failures: list[str], authenticated: set[str]
            ) -> Callable[[], None]:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def run(case: Any) -> None:
        if "org_id" in (case.path_parameters or {}):
            case.path_parameters["org_id"] = admin.org_id
        response = case.call(headers={"authorization": f"Bearer {credential}"}, timeout=30)
        if response.status_code != 401:
            authenticated.add(op.path)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:200]} body={case.body!r}"[:600])

    return run  # type: ignore[no-any-return]
