"""Cloud bills from AWS Cost Explorer (through botocore) against a local fake speaking its protocol: pages
followed, Bedrock services only, amounts exact, other currencies kept apart, refused credentials named;
then through the real server: import, bills beside metered spend, per org."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from bonito.config.schema import BedrockProviderConfig
from bonito.costs.bills import BillImportError
from bonito.costs.bills.aws import fetch_bedrock_costs
from tests.control.helpers import Api
from tests.fakes.cost_explorer import FakeCostExplorer, Line
from tests.support.server import BonitoServer

SECRET = "fake-secret-never-shown"
LINES = [
    Line("2026-03-01", "Amazon Bedrock", "USE1-NovaPro-input-tokens", "1.25"),
    Line("2026-03-01", "Claude 3.5 Sonnet (Amazon Bedrock Edition)", "USE1-MP:USE1_InputTokenCount-Units", "3.10"),
    Line("2026-03-01", "Amazon Elastic Compute Cloud - Compute", "USE1-BoxUsage:t3.micro", "9.99"),
    Line("2026-03-03", "Amazon Bedrock", "USE1-NovaPro-output-tokens", "0.000001"),
    Line("2026-03-05", "Amazon Bedrock", "EUC1-NovaPro-input-tokens", "2.00", "EUR"),
]


@pytest.fixture(scope="module")
def ce() -> Iterator[FakeCostExplorer]:
    fake = FakeCostExplorer(lines=LINES, page_days=2).start()
    yield fake
    fake.stop()


def creds(access_key: str = "AKIDFAKE") -> BedrockProviderConfig:
    return BedrockProviderConfig(type="bedrock", access_key_id=access_key, secret_access_key=SECRET)


def test_pages_are_followed_and_only_bedrock_services_kept(ce: FakeCostExplorer) -> None:
    ce.requests.clear()
    lines = fetch_bedrock_costs(creds(), date(2026, 3, 1), date(2026, 3, 6), ce.url)
    assert len(ce.requests) == 3  # 5 days, 2 a page
    assert ce.requests[0]["Granularity"] == "DAILY" and ce.requests[1]["NextPageToken"] == "2"
    assert [(ln.day.isoformat(), ln.service, ln.amount, ln.currency) for ln in lines] == [
        ("2026-03-01", "Amazon Bedrock", Decimal("1.25"), "USD"),
        ("2026-03-01", "Claude 3.5 Sonnet (Amazon Bedrock Edition)", Decimal("3.10"), "USD"),
        ("2026-03-03", "Amazon Bedrock", Decimal("0.000001"), "USD"),
        ("2026-03-05", "Amazon Bedrock", Decimal("2.00"), "EUR"),
    ]


def test_refused_credentials_are_named_and_the_secret_is_not(ce: FakeCostExplorer) -> None:
    with pytest.raises(BillImportError) as err:
        fetch_bedrock_costs(creds("AKIDWRONG"), date(2026, 3, 1), date(2026, 3, 2), ce.url)
    assert err.value.status == 403 and "credentials" in err.value.reason
    assert SECRET not in err.value.reason and "AKIDWRONG" not in err.value.reason


@pytest.fixture(scope="module")
def server(ce: FakeCostExplorer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    with BonitoServer(tmp_path_factory.mktemp("bills"), env={"BONITO_AWS_COST_EXPLORER_URL": ce.url}) as srv:
        yield srv


def test_import_then_bills_beside_metered_spend_per_org(server: BonitoServer) -> None:
    api = Api(server.url)
    admin, other = api.register(), api.register()
    good = api.post("/api/providers", admin, {"name": "aws", "type": "bedrock", "credentials": {
        "region": "us-east-1", "access_key_id": "AKIDFAKE", "secret_access_key": SECRET}}).json()
    wrong = api.post("/api/providers", admin, {"name": "aws-old", "type": "bedrock", "credentials": {
        "region": "us-east-1", "access_key_id": "AKIDWRONG", "secret_access_key": SECRET}}).json()
    window = {"start": "2026-03-01", "end": "2026-03-06"}

    r = api.post("/api/costs/bills/import", admin, {"provider_id": good["id"], **window})
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 4
    again = api.post("/api/costs/bills/import", admin, {"provider_id": good["id"], **window})
    assert again.json()["imported"] == 4  # a new import of the same days replaces, never adds

    bills = api.get("/api/costs/bills", admin, params=window).json()
    assert len(bills["items"]) == 4
    assert {d["day"]: d["billed_usd"] for d in bills["by_day"]} == {"2026-03-01": "4.35", "2026-03-03": "0.000001"}
    # nothing went through the gateway on those days: all of it is spend Bonito did not meter
    assert bills["totals"] == {"billed_usd": "4.350001", "metered_usd": "0", "unmetered_usd": "4.350001",
                               "other_currencies": {"EUR": "2"}}

    refused = api.post("/api/costs/bills/import", admin, {"provider_id": wrong["id"], **window})
    assert refused.status_code == 400 and "credentials" in refused.text and SECRET not in refused.text
    assert api.post("/api/costs/bills/import", other, {"provider_id": good["id"], **window}).status_code == 404
    assert api.get("/api/costs/bills", other, params=window).json()["items"] == []
    backwards = api.post("/api/costs/bills/import", admin, {"provider_id": good["id"], "start": "2026-03-06",
                                                             "end": "2026-03-01"})
    assert backwards.status_code == 422 and "end" in backwards.text
    api.close()
