"""A minimal OpenAI-compatible upstream whose error bodies are *not* fully OpenAI-shaped
(vLLM, Ollama and proxies often send `{"error": {"message": ...}}` alone), on a thread.

    with BareUpstream(status=400, error={"message": "bad"}) as up:
        up.url  # http://127.0.0.1:<port>/v1
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.ports import free_port


class BareUpstream:
    def __init__(self, status: int, error: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.error = error
        self.headers = headers or {}
        self.port = free_port()
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.calls += 1
                body = json.dumps({"error": outer.error}).encode()
                self.send_response(outer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for k, v in outer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> BareUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
