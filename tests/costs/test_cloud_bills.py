"""Cloud bills from AWS Cost Explorer (through botocore) and Azure Cost Management (azure-identity) against
local fakes speaking their protocols: pages followed, AI services only, amounts exact, other currencies kept
apart, refused credentials named; then through the real server: import, bills beside metered spend, per org."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bonito.config.schema import AzureProviderConfig, BedrockProviderConfig, VertexProviderConfig
from bonito.costs.bills import BillImportError
from bonito.costs.bills.aws import fetch_bedrock_costs
from bonito.costs.bills.azure import fetch_openai_costs
from bonito.costs.bills.gcp import fetch_vertex_costs
from tests.control.helpers import Api
from tests.fakes.bigquery import FakeBigQuery
from tests.fakes.cost_explorer import FakeCostExplorer, Line
from tests.fakes.cost_management import FakeCostManagement
from tests.fakes.vertex import fake_in_thread, make_service_account
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
def gcp() -> Iterator[tuple[FakeBigQuery, dict[str, Any]]]:
    """A fake BigQuery taking the tokens a fake Google token endpoint issues to one service account."""
    with fake_in_thread() as vertex:
        info, public = make_service_account(vertex.token_uri)
        vertex.add_service_account(info["client_email"], public)
        with FakeBigQuery(GCP_ROWS, lambda t: t in vertex.tokens).running() as bq:
            yield bq, info


@pytest.fixture(scope="module")
def server(ce: FakeCostExplorer, cm: FakeCostManagement, gcp: tuple[FakeBigQuery, dict[str, Any]],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[BonitoServer]:
    env = {"BONITO_AWS_COST_EXPLORER_URL": ce.url, "BONITO_AZURE_MANAGEMENT_URL": cm.url,
           "BONITO_BIGQUERY_URL": gcp[0].url,
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


GCP_ROWS = [
    ("Vertex AI", "Gemini 2.5 Flash Input Tokens", "2026-03-01", "0.123456789", "USD"),
    ("Vertex AI", "Gemini 2.5 Flash Output Tokens", "2026-03-01", "1.5", "USD"),
    ("Gemini API", "Gemini 2.5 Pro Input Tokens", "2026-03-03", "2", "USD"),
    ("Vertex AI", "Gemini 2.5 Flash Input Tokens", "2026-03-04", "5", "JPY"),
    ("Vertex AI", "Gemini 2.5 Flash Input Tokens", "2026-03-09", "9", "USD"),  # outside the window
]


@pytest.mark.parametrize("slow", [False, True])
def test_gcp_billing_export_pages_waits_and_refuses(slow: bool) -> None:
    with fake_in_thread() as vertex:
        info, public = make_service_account(vertex.token_uri)
        vertex.add_service_account(info["client_email"], public)
        cfg = VertexProviderConfig(type="vertex", project="billing-proj", service_account_json=json.dumps(info))
        with FakeBigQuery(GCP_ROWS, lambda t: t in vertex.tokens, slow=slow).running() as bq:
            lines = asyncio.run(fetch_vertex_costs(cfg, bq.table, date(2026, 3, 1), date(2026, 3, 6),
                                                   bigquery_url=bq.url))
            assert [(ln.day.isoformat(), ln.service, ln.amount, ln.currency) for ln in lines] == [
                ("2026-03-01", "Vertex AI", Decimal("0.123456789"), "USD"),
                ("2026-03-01", "Vertex AI", Decimal("1.5"), "USD"),
                ("2026-03-03", "Gemini API", Decimal("2"), "USD"),
                ("2026-03-04", "Vertex AI", Decimal("5"), "JPY")]
            kinds = [k for k, _ in bq.calls]
            assert kinds == (["query", "results", "results"] if slow else ["query", "results"])
            assert "CAST(cost AS NUMERIC)" in bq.calls[0][1]["query"]
            with pytest.raises(BillImportError) as err:
                asyncio.run(fetch_vertex_costs(cfg, "billing-proj.billing.other_table", date(2026, 3, 1),
                                               date(2026, 3, 6), bigquery_url=bq.url))
            assert err.value.status == 422
            vertex.revoke_tokens()
            stranger = VertexProviderConfig(type="vertex", project="billing-proj", service_account_json=json.dumps(
                make_service_account(vertex.token_uri, email="stranger@x.iam.gserviceaccount.com")[0]))
            with pytest.raises(BillImportError) as err:
                asyncio.run(fetch_vertex_costs(stranger, bq.table, date(2026, 3, 1), date(2026, 3, 6),
                                               bigquery_url=bq.url))
            assert err.value.status == 403 and "service account" in err.value.reason


def test_a_vertex_connection_imports_its_billing_export(server: BonitoServer,
                                                        gcp: tuple[FakeBigQuery, dict[str, Any]]) -> None:
    bq, info = gcp
    api = Api(server.url)
    admin = api.register()
    vertex = api.post("/api/providers", admin, {"name": "gcp", "type": "vertex", "credentials": {
        "project": "billing-proj", "service_account_json": json.dumps(info)}})
    assert vertex.status_code == 201, vertex.text
    window = {"start": "2026-03-01", "end": "2026-03-06"}
    missing = api.post("/api/costs/bills/import", admin, {"provider_id": vertex.json()["id"], **window})
    assert missing.status_code == 422 and "table" in missing.text
    r = api.post("/api/costs/bills/import", admin, {"provider_id": vertex.json()["id"], "table": bq.table, **window})
    assert r.status_code == 200, r.text
    assert (r.json()["cloud"], r.json()["imported"]) == ("gcp", 4)
    totals = api.get("/api/costs/bills", admin, params=window).json()["totals"]
    assert totals["billed_usd"] == "3.623456789" and totals["other_currencies"] == {"JPY": "5"}
    api.close()
