"""A local Azure Cost Management Query API with its Entra ID token endpoint (TLS, as azure-identity needs).

- `POST /{tenant}/oauth2/v2.0/token`: client-credentials grant for the management scope; a wrong
  secret gets AADSTS7000215 (401), as Entra ID answers.
- `POST /subscriptions/{id}[/resourceGroups/{rg}]/providers/Microsoft.CostManagement/query`: a Bearer
  token this fake issued, else 401 `AuthenticationFailed`; answers `properties.columns` / `rows`
  (Cost, UsageDate as yyyymmdd, ServiceName, Meter, Currency), `page_size` rows a page with `nextLink`.
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.anthropic import in_thread
from tests.fakes.azure import write_self_signed_cert
from tests.support.ports import free_port

MANAGEMENT_SCOPE = "https://management.azure.com/.default"


class FakeCostManagement:
    def __init__(self, rows: list[list[Any]], *, tenant_id: str = "tenant-1", client_id: str = "client-1",
                 client_secret: str = "secret-1", page_size: int = 2) -> None:
        self.rows = rows
        self.tenant_id, self.client_id, self.client_secret = tenant_id, client_id, client_secret
        self.page_size = page_size
        self.queries: list[dict[str, Any]] = []
        self._issued: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.url = self.authority = self.ca_file = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_post("/subscriptions/{rest:.+}/providers/Microsoft.CostManagement/query", self._query)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        self._tmp = tempfile.TemporaryDirectory()
        cert, key = write_self_signed_cert(Path(self._tmp.name))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        tls_port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", tls_port, ssl_context=ctx).start()
        self.authority, self.ca_file = f"https://127.0.0.1:{tls_port}", str(cert)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._tmp is not None:
            self._tmp.cleanup()

    @contextmanager
    def running(self) -> Iterator[FakeCostManagement]:
        with in_thread(self.start, self.stop):
            yield self

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if request.match_info["tenant"] != self.tenant_id or form.get("scope") != MANAGEMENT_SCOPE:
            return web.json_response({"error": "invalid_request", "error_description": "AADSTS900144"}, status=400)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_client", "error_codes": [7000215], "error_description":
                                      "AADSTS7000215: Invalid client secret provided."}, status=401)
        token = f"mgmt-token-{len(self._issued) + 1}"
        self._issued.add(token)
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                  "access_token": token})

    async def _query(self, request: web.Request) -> web.Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self._issued:
            return web.json_response({"error": {"code": "AuthenticationFailed", "message":
                                                "Authentication failed."}}, status=401)
        self.queries.append({"path": request.path, "query": dict(request.query), "body": await request.json()})
        skip = int(request.query.get("$skiptoken", "0"))
        page = self.rows[skip:skip + self.page_size]
        next_link = None
        if skip + self.page_size < len(self.rows):
            next_link = f"{self.url}{request.path}?api-version=2023-03-01&$skiptoken={skip + self.page_size}"
        return web.json_response({"id": "q1", "name": "q1", "type": "Microsoft.CostManagement/query",
                                  "properties": {"nextLink": next_link, "columns": [
                                      {"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"},
                                      {"name": "ServiceName", "type": "String"}, {"name": "Meter", "type": "String"},
                                      {"name": "Currency", "type": "String"}], "rows": page}})
