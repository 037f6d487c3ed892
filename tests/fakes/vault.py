"""A local fake of HashiCorp Vault's KV version 2 HTTP API (what hvac calls), in a thread.

Supports write (POST/PUT data), read (GET data, `?version=`), delete all versions (DELETE metadata),
and checks `X-Vault-Token`. Everything written is kept in `store` for assertions.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.ports import free_port


class FakeVault:
    def __init__(self, token: str = "root-token") -> None:
        self.token = token
        self.store: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (mount, path) -> versions
        self.requests: list[tuple[str, str]] = []
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeVault:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _route(self) -> tuple[str, str, str] | None:
                fake.requests.append((self.command, self.path))
                if self.headers.get("X-Vault-Token") != fake.token:
                    self._answer(403, {"errors": ["permission denied"]})
                    return None
                parts = urlsplit(self.path).path.split("/")
                # /v1/<mount>/<data|metadata>/<path...>
                if len(parts) < 5 or parts[1] != "v1" or parts[3] not in ("data", "metadata"):
                    self._answer(404, {"errors": []})
                    return None
                return parts[2], parts[3], "/".join(parts[4:])

            def do_POST(self) -> None:
                route = self._route()
                if route is None:
                    return
                mount, _kind, path = route
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                versions = fake.store.setdefault((mount, path), [])
                now = datetime.now(UTC).isoformat()
                versions.append({"data": body.get("data", {}), "created_time": now})
                self._answer(200, {"data": {"version": len(versions), "created_time": now, "deletion_time": "",
                                            "destroyed": False}})

            do_PUT = do_POST

            def do_GET(self) -> None:
                route = self._route()
                if route is None:
                    return
                mount, _kind, path = route
                versions = fake.store.get((mount, path))
                if not versions:
                    self._answer(404, {"errors": []})
                    return
                query = parse_qs(urlsplit(self.path).query)
                n = int(query.get("version", [len(versions)])[0]) or len(versions)
                if n < 1 or n > len(versions):
                    self._answer(404, {"errors": []})
                    return
                v = versions[n - 1]
                self._answer(200, {"data": {"data": v["data"], "metadata": {
                    "version": n, "created_time": v["created_time"], "deletion_time": "", "destroyed": False}}})

            def do_DELETE(self) -> None:
                route = self._route()
                if route is None:
                    return
                mount, _kind, path = route
                fake.store.pop((mount, path), None)
                self._answer(204)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
