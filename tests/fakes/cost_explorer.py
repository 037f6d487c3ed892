"""A local AWS Cost Explorer speaking the real JSON 1.1 protocol (the shapes botocore's `ce` model documents).

`POST /` with `X-Amz-Target: AWSInsightsIndexService.GetCostAndUsage`, SigV4-signed: a request signed
with another access key id gets 400 `UnrecognizedClientException`, as AWS answers. Answers daily
`ResultsByTime` grouped by the request's two dimensions (service, usage type), `page_days` days per
page with `NextPageToken`.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson
from aiohttp import web

from tests.support.ports import free_port

TARGET = "AWSInsightsIndexService.GetCostAndUsage"


@dataclass(frozen=True)
class Line:
    day: str
    service: str
    usage_type: str
    amount: str
    unit: str = "USD"


@dataclass
class FakeCostExplorer:
    access_key: str = "AKIDFAKE"
    lines: list[Line] = field(default_factory=list)
    page_days: int = 2
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeCostExplorer:
        self.port = self.port or free_port()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Cost Explorer did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop_event.set)
        self._thread.join(5)

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._stop_event = asyncio.Event()

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/", self._handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            ready.set()
            await self._stop_event.wait()
            await runner.cleanup()

        self._loop.run_until_complete(main())

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("x-amz-target") != TARGET:
            return _error(400, "UnknownOperationException", "")
        auth = request.headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 ") or f"Credential={self.access_key}/" not in auth:
            return _error(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
        body = orjson.loads(await request.read())
        self.requests.append(body)
        start = date.fromisoformat(body["TimePeriod"]["Start"])
        end = date.fromisoformat(body["TimePeriod"]["End"])
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        offset = int(body.get("NextPageToken") or 0)
        page = days[offset:offset + self.page_days]
        results = []
        for d in page:
            groups = [{"Keys": [ln.service, ln.usage_type],
                       "Metrics": {"UnblendedCost": {"Amount": ln.amount, "Unit": ln.unit}}}
                      for ln in self.lines if ln.day == d.isoformat()]
            results.append({"TimePeriod": {"Start": d.isoformat(), "End": (d + timedelta(days=1)).isoformat()},
                            "Total": {}, "Groups": groups, "Estimated": False})
        out: dict[str, Any] = {"GroupDefinitions": body.get("GroupBy", []), "ResultsByTime": results,
                               "DimensionValueAttributes": []}
        if offset + self.page_days < len(days):
            out["NextPageToken"] = str(offset + self.page_days)
        return web.Response(body=orjson.dumps(out), content_type="application/x-amz-json-1.1")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(status=status, body=orjson.dumps({"__type": code, "message": message}),
                        content_type="application/x-amz-json-1.1")
