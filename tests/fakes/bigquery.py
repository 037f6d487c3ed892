"""A local BigQuery jobs API (REST v2) over a fixed billing-export result, for the bill import.

- `POST /bigquery/v2/projects/{project}/queries` (jobs.query) and
  `GET /bigquery/v2/projects/{project}/queries/{jobId}` (getQueryResults), each with a Bearer token
  the given check accepts (the fake Vertex's token endpoint issues them), else 401 as Google answers.
- The first answer says `jobComplete: false` when `slow` is set (the client must wait with
  getQueryResults); rows come `page_size` at a time with `pageToken`, in BigQuery's `{"f": [{"v"}]}`
  shape, filtered by the query's @start/@end DATE parameters. A table other than `table` is a 404.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from tests.support.ports import free_port


class FakeBigQuery:
    def __init__(self, rows: list[tuple[str, str, str, str, str]], token_ok: Callable[[str], bool], *,
                 table: str = "billing-proj.billing.gcp_billing_export_v1_0000", page_size: int = 2,
                 slow: bool = False) -> None:
        self.rows = rows  # (service, sku, day, cost, currency)
        self.token_ok = token_ok
        self.table = table
        self.page_size = page_size
        self.slow = slow
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._jobs: dict[str, list[tuple[str, str, str, str, str]]] = {}
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bigquery/v2/projects/{project}/queries", self._query)
        app.router.add_get("/bigquery/v2/projects/{project}/queries/{job}", self._results)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._runner.cleanup()

    @contextmanager
    def running(self) -> Iterator[FakeBigQuery]:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    def _denied(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer ") and self.token_ok(auth[7:]):
            return None
        return web.json_response({"error": {"code": 401, "status": "UNAUTHENTICATED", "message":
                                            "Request is missing required authentication credential."}}, status=401)

    async def _query(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        self.calls.append(("query", body))
        if f"`{self.table}`" not in body["query"]:
            return web.json_response({"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found: Table"}},
                                     status=404)
        params = {p["name"]: p["parameterValue"]["value"] for p in body["queryParameters"]}
        job = f"job_{len(self._jobs) + 1}"
        self._jobs[job] = [r for r in self.rows if params["start"] <= r[2] < params["end"]]
        if self.slow:
            return web.json_response({"kind": "bigquery#queryResponse", "jobComplete": False,
                                      "jobReference": {"projectId": request.match_info["project"], "jobId": job,
                                                       "location": "US"}})
        return web.json_response(self._page(request.match_info["project"], job, 0))

    async def _results(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        self.calls.append(("results", dict(request.query)))
        offset = int(request.query.get("pageToken") or 0)
        return web.json_response(self._page(request.match_info["project"], request.match_info["job"], offset))

    def _page(self, project: str, job: str, offset: int) -> dict[str, Any]:
        rows = self._jobs[job]
        page = rows[offset:offset + self.page_size]
        out: dict[str, Any] = {
            "kind": "bigquery#queryResponse", "jobComplete": True, "totalRows": str(len(rows)),
            "jobReference": {"projectId": project, "jobId": job, "location": "US"},
            "schema": {"fields": [{"name": n, "type": "STRING"} for n in ("service", "sku", "day", "cost", "currency")]},
            "rows": [{"f": [{"v": v} for v in r]} for r in page]}
        if offset + self.page_size < len(rows):
            out["pageToken"] = str(offset + self.page_size)
        return out
