"""Cloud bills from AWS Cost Explorer (through botocore) and Azure Cost Management (azure-identity) against
local fakes speaking their protocols: pages followed, AI services only, amounts exact, other currencies kept
apart, refused credentials named; then through the real server: import, bills beside metered spend, per org."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bonito.config.schema import AzureProviderConfig, BedrockProviderConfig
from bonito.costs.bills import BillImportError
from bonito.costs.bills.aws import fetch_bedrock_costs
from bonito.costs.bills.azure import fetch_openai_costs
from tests.control.helpers import Api
from tests.fakes.cost_explorer import FakeCostExplorer, Line
from tests.fakes.cost_management import FakeCostManagement
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
def cm() -> Iterator[FakeCostManagement]:
    with FakeCostManagement(AZURE_ROWS, page_size=2).running() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(ce: FakeCostExplorer, cm: FakeCostManagement, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[BonitoServer]:
    env = {"BONITO_AWS_COST_EXPLORER_URL": ce.url, "BONITO_AZURE_MANAGEMENT_URL": cm.url,
           "SSL_CERT_FILE": cm.ca_file}  # trust the fake Entra ID's certificate
    with BonitoServer(tmp_path_factory.mktemp("bills"), env=env) as srv:
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


AZURE_ROWS = [
    [1.5, 20260301, "Azure OpenAI", "gpt-4o-input-tokens", "USD"],
    [0.25, 20260301, "Azure OpenAI", "gpt-4o-output-tokens", "USD"],
    [3.0, 20260302, "Cognitive Services", "gpt-4o-mini-input-tokens", "USD"],
    [7.0, 20260302, "Azure OpenAI", "gpt-4o-input-tokens", "EUR"],
    [0.1, 20260304, "Azure OpenAI", "o3-output-tokens", "USD"],
]


def azure_cfg(fake: Any, secret: str) -> AzureProviderConfig:
    return AzureProviderConfig(type="azure", endpoint="https://example.openai.azure.com", tenant_id=fake.tenant_id,
                               client_id=fake.client_id, client_secret=secret, authority_host=fake.authority)


async def test_azure_cost_management_pages_currency_and_refused_credentials() -> None:
    with FakeCostManagement(AZURE_ROWS, page_size=2).running() as fake:
        lines = await fetch_openai_costs(azure_cfg(fake, fake.client_secret), "/subscriptions/sub-1",
                                         date(2026, 3, 1), date(2026, 3, 5), management_url=fake.url,
                                         connection_verify=fake.ca_file)
        assert len(fake.queries) == 3  # 5 rows, 2 a page
        body = fake.queries[0]["body"]
        assert body["timePeriod"] == {"from": "2026-03-01T00:00:00Z", "to": "2026-03-04T23:59:59Z"}
        assert body["dataset"]["granularity"] == "Daily"
        assert [(ln.day.isoformat(), ln.model, ln.amount, ln.currency) for ln in lines] == [
            ("2026-03-01", "gpt-4o-input-tokens", Decimal("1.5"), "USD"),
            ("2026-03-01", "gpt-4o-output-tokens", Decimal("0.25"), "USD"),
            ("2026-03-02", "gpt-4o-mini-input-tokens", Decimal("3.0"), "USD"),
            ("2026-03-02", "gpt-4o-input-tokens", Decimal("7.0"), "EUR"),
            ("2026-03-04", "o3-output-tokens", Decimal("0.1"), "USD")]
        with pytest.raises(BillImportError) as err:
            await fetch_openai_costs(azure_cfg(fake, "wrong-secret"), "/subscriptions/sub-1", date(2026, 3, 1),
                                     date(2026, 3, 5), management_url=fake.url, connection_verify=fake.ca_file)
        assert err.value.status == 403 and "credentials" in err.value.reason and "wrong-secret" not in err.value.reason
        with pytest.raises(BillImportError) as err:
            await fetch_openai_costs(azure_cfg(fake, fake.client_secret), "/subscriptions/../x", date(2026, 3, 1),
                                     date(2026, 3, 5), management_url=fake.url, connection_verify=fake.ca_file)
        assert err.value.status == 422


def test_an_azure_connection_imports_its_cost_management_bill(server: BonitoServer, cm: FakeCostManagement) -> None:
    api = Api(server.url)
    admin = api.register()
    azure = api.post("/api/providers", admin, {"name": "az", "type": "azure", "credentials": {
        "endpoint": "https://example.openai.azure.com", "tenant_id": cm.tenant_id, "client_id": cm.client_id,
        "client_secret": cm.client_secret, "authority_host": cm.authority}})
    assert azure.status_code == 201, azure.text
    window = {"start": "2026-03-01", "end": "2026-03-05"}
    missing = api.post("/api/costs/bills/import", admin, {"provider_id": azure.json()["id"], **window})
    assert missing.status_code == 422 and "scope" in missing.text
    r = api.post("/api/costs/bills/import", admin, {"provider_id": azure.json()["id"], "scope": "/subscriptions/sub-1",
                                                      **window})
    assert r.status_code == 200, r.text
    assert (r.json()["cloud"], r.json()["imported"]) == ("azure", 5)
    totals = api.get("/api/costs/bills", admin, params=window).json()["totals"]
    assert totals["billed_usd"] == "4.85" and totals["other_currencies"] == {"EUR": "7"}
    api.close()
