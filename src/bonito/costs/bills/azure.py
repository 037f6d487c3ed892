"""Azure Cost Management (the Query API, with an Entra ID service principal through azure-identity):
daily Azure OpenAI spend per service and meter for a subscription or resource group scope.

The query groups by ServiceName and Meter and keeps the services Azure OpenAI bills under ("Azure
OpenAI", "Cognitive Services"); `properties.nextLink` pages are followed with the same body.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import aiohttp

from bonito.config.schema import AzureProviderConfig
from bonito.costs.bills import BillImportError, BillLine

MANAGEMENT = "https://management.azure.com"
SCOPE = "https://management.azure.com/.default"
API_VERSION = "2023-03-01"
SERVICES = ["Azure OpenAI", "Cognitive Services"]
BILLING_SCOPE = re.compile(r"^/subscriptions/[0-9A-Za-z-]{1,64}(/resourceGroups/[-\w.()]{1,90})?$")


def query_body(start: date, end: date) -> dict[str, Any]:
    last = end - timedelta(days=1)
    return {"type": "ActualCost", "timeframe": "Custom",
            "timePeriod": {"from": f"{start.isoformat()}T00:00:00Z", "to": f"{last.isoformat()}T23:59:59Z"},
            "dataset": {"granularity": "Daily", "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
                        "grouping": [{"type": "Dimension", "name": "ServiceName"},
                                     {"type": "Dimension", "name": "Meter"}],
                        "filter": {"dimensions": {"name": "ServiceName", "operator": "In", "values": SERVICES}}}}


async def _token(cfg: AzureProviderConfig, **credential_options: Any) -> str:
    from azure.core.exceptions import AzureError, ClientAuthenticationError
    from azure.identity.aio import ClientSecretCredential

    if not (cfg.tenant_id and cfg.client_id and cfg.client_secret):
        raise BillImportError(400, "reading Azure costs needs the connection's service principal "
                                   "(tenant_id, client_id, client_secret)")
    options = {"retry_total": 1, **credential_options}
    if cfg.authority_host:
        options.setdefault("authority", cfg.authority_host)
    credential = ClientSecretCredential(cfg.tenant_id, cfg.client_id, cfg.client_secret, **options)
    try:
        return (await credential.get_token(SCOPE)).token
    except ClientAuthenticationError:
        raise BillImportError(403, "Entra ID refused the connection's credentials for Cost Management") from None
    except AzureError as exc:
        raise BillImportError(502, f"Entra ID unreachable ({type(exc).__name__})") from None
    finally:
        await credential.close()


async def fetch_openai_costs(cfg: AzureProviderConfig, billing_scope: str, start: date, end: date, *,
                             management_url: str | None = None, **credential_options: Any) -> list[BillLine]:
    """Daily Azure OpenAI cost in [start, end) for `billing_scope` (/subscriptions/<id>[/resourceGroups/<rg>])."""
    if not BILLING_SCOPE.match(billing_scope):
        raise BillImportError(422, "scope must be /subscriptions/<id> or /subscriptions/<id>/resourceGroups/<name>")
    token = await _token(cfg, **credential_options)
    url: str | None = (f"{(management_url or MANAGEMENT).rstrip('/')}{billing_scope}"
                       f"/providers/Microsoft.CostManagement/query?api-version={API_VERSION}")
    body = query_body(start, end)
    lines: list[BillLine] = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while url:
            try:
                async with http.post(url, json=body, headers={"authorization": f"Bearer {token}"}) as resp:
                    if resp.status in (401, 403):
                        raise BillImportError(403, "Azure refused the credentials for Cost Management "
                                                   f"({resp.status})")
                    if resp.status != 200:
                        raise BillImportError(502, f"Azure Cost Management failed ({resp.status})")
                    page = await resp.json(content_type=None)
            except aiohttp.ClientError as exc:
                raise BillImportError(502, f"Azure Cost Management unreachable ({type(exc).__name__})") from None
            props = page.get("properties") or {}
            names = [c["name"] for c in props.get("columns") or []]
            for row in props.get("rows") or []:
                cell = dict(zip(names, row, strict=False))
                day = str(cell.get("UsageDate"))
                lines.append(BillLine(date(int(day[:4]), int(day[4:6]), int(day[6:8])), str(cell.get("ServiceName")),
                                      str(cell.get("Meter")), Decimal(str(cell.get("Cost"))),
                                      str(cell.get("Currency") or "USD")))
            url = props.get("nextLink") or None
            if url and not url.startswith(f"{(management_url or MANAGEMENT).rstrip('/')}/"):
                raise BillImportError(502, "Azure Cost Management sent a next page on another host")  # keep the token
    return lines
