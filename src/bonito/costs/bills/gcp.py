"""GCP billing through the BigQuery export (the jobs.query REST API, with the Vertex connection's service
account through google-auth): daily Vertex AI / Gemini spend per service and SKU.

The Cloud Billing export writes one table per billing account (`project.dataset.gcp_billing_export_v1_…`);
the query sums `cost` as NUMERIC (exact) per day, service, SKU and currency. Result pages are followed with
`pageToken` (getQueryResults), and a job still running is waited for the same way.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import aiohttp

from bonito.config.schema import VertexProviderConfig
from bonito.costs.bills import BillImportError, BillLine

BIGQUERY = "https://bigquery.googleapis.com"
SERVICES = ("Vertex AI", "Gemini API", "Generative Language API")
TABLE = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_]{1,1024}$")
MAX_PAGES = 1000


def query_text(table: str) -> str:
    services = ", ".join(f"'{s}'" for s in SERVICES)
    return (f"SELECT service.description AS service, sku.description AS sku, "
            f"FORMAT_DATE('%Y-%m-%d', DATE(usage_start_time)) AS day, "
            f"CAST(SUM(CAST(cost AS NUMERIC)) AS STRING) AS cost, currency "
            f"FROM `{table}` WHERE DATE(usage_start_time) >= @start AND DATE(usage_start_time) < @end "
            f"AND service.description IN ({services}) GROUP BY service, sku, day, currency ORDER BY day")


def _param(name: str, value: date) -> dict[str, Any]:
    return {"name": name, "parameterType": {"type": "DATE"}, "parameterValue": {"value": value.isoformat()}}


async def _token(cfg: VertexProviderConfig) -> str:
    from bonito.providers.vertex.auth import CredentialsError, ServiceAccountTokenSource

    source = ServiceAccountTokenSource(service_account_file=cfg.service_account_file,
                                       service_account_json=cfg.service_account_json)
    try:
        return await source.token()
    except CredentialsError:
        raise BillImportError(403, "Google refused the connection's service account for BigQuery") from None


async def fetch_vertex_costs(cfg: VertexProviderConfig, table: str, start: date, end: date, *,
                             bigquery_url: str | None = None) -> list[BillLine]:
    """Daily Vertex AI cost in [start, end) from the billing export `table` (project.dataset.table)."""
    if not TABLE.match(table):
        raise BillImportError(422, "table must be the billing export's project.dataset.table")
    token = await _token(cfg)
    base = f"{(bigquery_url or BIGQUERY).rstrip('/')}/bigquery/v2/projects/{cfg.project}/queries"
    headers = {"authorization": f"Bearer {token}"}
    body = {"query": query_text(table), "useLegacySql": False, "parameterMode": "NAMED",
            "queryParameters": [_param("start", start), _param("end", end)], "maxResults": 1000,
            "timeoutMs": 30000}
    lines: list[BillLine] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90), headers=headers) as http:
        page = await _call(http, "POST", base, json=body)
        for _ in range(MAX_PAGES):
            if page.get("jobComplete", True):
                for row in page.get("rows") or []:
                    service, sku, day, cost, currency = (cell.get("v") for cell in row["f"])
                    lines.append(BillLine(date.fromisoformat(str(day)), str(service), str(sku),
                                          Decimal(str(cost)), str(currency or "USD")))
                token_next = page.get("pageToken")
                if not token_next:
                    return lines
            else:
                token_next = None
            job = page["jobReference"]
            params = {"location": job.get("location", ""), "timeoutMs": "30000", "maxResults": "1000",
                      **({"pageToken": token_next} if token_next else {})}
            page = await _call(http, "GET", f"{base}/{job['jobId']}", params=params)
    raise BillImportError(502, "BigQuery returned too many pages")


async def _call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    try:
        async with http.request(method, url, **kwargs) as resp:
            if resp.status in (401, 403):
                raise BillImportError(403, f"Google refused the credentials for the billing export ({resp.status})")
            if resp.status == 404:
                raise BillImportError(422, "the billing export table or its project was not found")
            if resp.status != 200:
                raise BillImportError(502, f"BigQuery failed ({resp.status})")
            out: dict[str, Any] = await resp.json(content_type=None)
            return out
    except aiohttp.ClientError as exc:
        raise BillImportError(502, f"BigQuery unreachable ({type(exc).__name__})") from None
