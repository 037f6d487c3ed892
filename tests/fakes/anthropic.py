"""A protocol-faithful local Anthropic Messages API that replays the recorded fixtures.

- `POST /v1/messages` checks `x-api-key` (or `Authorization: Bearer`) and
  `anthropic-version`, validates the request the way the real API does
  (max_tokens, roles, tool_result ids…), and answers with the fixture named by
  the request's `model` (`messages_text`, `messages_stream_tool_use_sdk_fixture`…),
  or `messages_text` / `messages_stream_text` when the model names no fixture of
  the requested kind (stream or not); `claude-does-not-exist*` is a 404. Streams are written
  event by event with chunked transfer encoding.
- Faults: append to `faults` ("rate_limit" -> 429, "overloaded" -> 529,
  "api_error" -> 500, "stream_error" -> an `error` event mid-stream); each
  request consumes one.
- `GET /v1/models` pages through `models` with `limit` / `after_id`.

Run alone: `python tests/fakes/anthropic.py --port 9004`.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(os.environ.get("BONITO_FIXTURES_DIR")
                or Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers")

ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "permission_error": 403,
                "not_found_error": 404, "rate_limit_error": 429, "api_error": 500, "overloaded_error": 529}


def load_fixture(provider: str, name: str) -> dict[str, Any]:
    """One recorded exchange from ../shared/fixtures/providers/<provider>/<name>.json."""
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())


def fixture_names(provider: str) -> list[str]:
    """All fixture names of a provider, sorted."""
    return sorted(p.stem for p in (FIXTURES / provider).glob("*.json"))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sse_events(body_text: str) -> list[str]:
    """Split an SSE body into its events (each ends with the blank line)."""
    return [e.strip("\n") + "\n\n" for e in body_text.split("\n\n") if e.strip()]


@contextmanager
def in_thread(start: Callable[[], Coroutine[Any, Any, Any]], stop: Callable[[], Coroutine[Any, Any, None]]
              ) -> Iterator[None]:
    """Run an async fake on its own event loop in a daemon thread (for sync tests, e.g. the openai SDK)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _error(etype: str, message: str, status: int | None = None, headers: dict[str, str] | None = None
           ) -> web.Response:
    body = {"type": "error", "error": {"type": etype, "message": message}, "request_id": "req_fake"}
    return web.json_response(body, status=status or ERROR_STATUS[etype], headers=headers)


class FakeAnthropic:
    """The fake server; `await start()` returns its base URL."""

    def __init__(self, *, api_key: str = "sk-ant-test", version: str = "2023-06-01",
                 event_delay_s: float = 0.0) -> None:
        self.api_key = api_key
        self.version = version
        self.event_delay_s = event_delay_s
        self.faults: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.models = [{"type": "model", "id": f"claude-fake-{i}", "display_name": f"Claude Fake {i}",
                        "created_at": "2025-01-01T00:00:00Z"} for i in range(5)]
        self._fixtures = {n: load_fixture("anthropic", n) for n in fixture_names("anthropic")}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._models)
        return app

    async def start(self, port: int = 0) -> str:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        port = port or free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextmanager
    def running(self) -> Iterator[FakeAnthropic]:
        """Serve from a background thread: `with FakeAnthropic().running() as fake: …`."""
        with in_thread(self.start, self.stop):
            yield self

    def _auth_error(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not key:
            return _error("authentication_error", "x-api-key header is required")
        if key != self.api_key:
            return _error("authentication_error", "invalid x-api-key")
        if request.headers.get("anthropic-version") != self.version:
            return _error("invalid_request_error", "anthropic-version: header is required and must be valid")
        return None

    async def _models(self, request: web.Request) -> web.Response:
        if (err := self._auth_error(request)) is not None:
            return err
        limit = int(request.query.get("limit", "20"))
        after = request.query.get("after_id")
        ids = [m["id"] for m in self.models]
        start = ids.index(after) + 1 if after in ids else 0
        page = self.models[start:start + limit]
        return web.json_response({"data": page, "has_more": start + limit < len(self.models),
                                  "first_id": page[0]["id"] if page else None,
                                  "last_id": page[-1]["id"] if page else None})

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if (err := self._auth_error(request)) is not None:
            return err
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error("invalid_request_error", "request body is not valid JSON")
        self.requests.append({"headers": dict(request.headers), "body": body})
        if (problem := validate_messages_request(body)) is not None:
            return _error("invalid_request_error", problem)
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "rate_limit":
            return _error("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
                          headers={"retry-after": "7"})
        if fault == "overloaded":
            return _error("overloaded_error", "Overloaded")
        if fault == "api_error":
            return _error("api_error", "Internal server error")
        if fault == "garbled":  # a 200 whose shape the Messages API never sends
            return web.json_response({"id": "msg_garbled", "type": "message", "role": "assistant",
                                      "content": "not a list of blocks", "usage": {"input_tokens": 1}})
        stream = bool(body.get("stream"))
        name = str(body["model"])
        if name.startswith("claude-does-not-exist"):
            return _error("not_found_error", f"model: {name}")
        if name not in self._fixtures or bool(self._fixtures[name]["stream"]) != stream:
            name = "messages_stream_text" if stream else "messages_text"
        recorded = self._fixtures[name]["response"]
        if "body_text" not in recorded:
            return web.json_response(recorded["body"], status=recorded["status"])
        return await self._write_stream(request, recorded["body_text"], fault == "stream_error",
                                        fault == "garbled_stream")

    async def _write_stream(self, request: web.Request, body_text: str, fail: bool,
                            garble: bool = False) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"content-type": "text/event-stream; charset=utf-8",
                                                       "cache-control": "no-cache"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        events = sse_events(body_text)
        for i, event in enumerate(events):
            if garble and i == min(3, len(events) - 1):  # a delta of a shape the API never sends
                event = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":3}\n\n'
            if fail and i == min(3, len(events) - 1):
                event = ('event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
                         '"message":"Overloaded"}}\n\n')
                await resp.write(event.encode())
                break
            await resp.write(event.encode())
            if self.event_delay_s:
                await asyncio.sleep(self.event_delay_s)
        await resp.write_eof()
        return resp


def validate_messages_request(body: Any) -> str | None:
    """What the real API would reject with invalid_request_error, as its message; None if fine."""
    if not isinstance(body, dict):
        return "body must be an object"
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    tool_ids: set[str] = set()
    prev = ""
    for i, m in enumerate(messages):
        role = m.get("role")
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if role == prev:
            return f"messages.{i}: roles must alternate between 'user' and 'assistant'"
        prev = role
        content = m.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list) or not content:
            return f"messages.{i}.content: must be a string or a non-empty list"
        for block in content:
            kind = block.get("type")
            if kind == "tool_use":
                if role != "assistant":
                    return f"messages.{i}: tool_use blocks belong in assistant turns"
                tool_ids.add(block.get("id"))
            elif kind == "tool_result":
                if role != "user" or block.get("tool_use_id") not in tool_ids:
                    return f"messages.{i}: tool_result block(s) provided without a matching tool_use"
            elif kind == "image":
                if block.get("source", {}).get("type") not in ("base64", "url"):
                    return f"messages.{i}: image.source.type must be 'base64' or 'url'"
            elif kind not in ("text", "thinking", "redacted_thinking", "document"):
                return f"messages.{i}: unknown content block type '{kind}'"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string or list"
    choice = body.get("tool_choice")
    if choice is not None:
        if choice.get("type") not in ("auto", "any", "tool", "none"):
            return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
        if choice["type"] == "tool" and choice.get("name") not in {t.get("name") for t in body.get("tools") or []}:
            return "tool_choice.name: no tool with this name"
    for j, tool in enumerate(body.get("tools") or []):
        if not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
            return f"tools.{j}: name and input_schema are required"
    return None


def main() -> None:
    """Serve the fake on a fixed port until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9004)
    parser.add_argument("--api-key", default="sk-ant-test")
    args = parser.parse_args()
    fake = FakeAnthropic(api_key=args.api_key)
    web.run_app(fake.app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
