"""Schemathesis over /api/openapi.json: no generated input makes /api answer 5xx (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.control.helpers import Api
from tests.support.postgres import PostgresServer
from tests.support.server import BonitoServer

EXAMPLES = 12


@pytest.fixture(params=["sqlite", "postgresql"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BonitoServer]:
    env: dict[str, str] = {}
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        env["BONITO_DATABASE_URL"] = pg.create_database(f"fuzz_{tmp_path.name[-20:].replace('-', '_').lower()}")
    # its own server: fuzzed logins would otherwise throttle the shared one
    with BonitoServer(tmp_path, env=env) as srv:
        yield srv


def test_no_input_makes_the_api_answer_5xx(fuzz_server: BonitoServer) -> None:
    api = Api(fuzz_server.url)
    admin = api.register()
    auth = {"authorization": f"Bearer {admin.access}"}
    schema = schemathesis.openapi.from_url(fuzz_server.url + "/api/openapi.json")
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for op in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=auth, timeout=30)
            statuses[response.status_code // 100] = statuses.get(response.status_code // 100, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{response.text[:200]}\n  query={case.query!r} body={case.body!r}"[:800])

        run()
    api.close()
    assert statuses.get(2, 0) > 20, statuses  # the fuzzing got past authentication and validation
    assert not failures, "\n".join(failures[:10]) + f"\n\nserver log:\n{fuzz_server.logs()[-4000:]}"
