"""A local OpenAI-compatible upstream with fault injection, run in its own thread.

It answers like OpenAI does (shapes taken from the recorded fixtures in
../shared/fixtures/providers/openai): chat completions (text or tool calls,
non-stream and SSE with `stream_options.include_usage`), completions and
embeddings (float and base64). Each request is recorded with its headers and
body; queued faults are applied to the next requests in order.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.ports import free_port


@dataclass
class Fault:
    """What to do instead of (or while) answering normally."""

    status: int | None = None  # answer this error status
    message: str = "injected failure"
    retry_after: float | None = None
    delay_s: float = 0.0  # wait before answering
    drop_after_chunks: int | None = None  # stream: cut the connection after n chunks
    error_type: str = "server_error"
    code: str | None = None
    param: str | None = None


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    """Start with `start()`; `url` is the base URL including /v1."""

    api_key: str = "sk-upstream"
    reply: str = "Hello from the fake upstream!"
    chunk_delay_s: float = 0.0
    requests: list[Seen] = field(default_factory=list)
    _faults: deque[Fault] = field(default_factory=deque)
    _always: Fault | None = None
    port: int = 0
    streams_cut_by_client: int = 0
    cached_tokens: int = 0  # reported as prompt_tokens_details.cached_tokens (at most the prompt)
    reasoning_tokens: int = 0  # reported as completion_tokens_details.reasoning_tokens

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, *faults: Fault) -> None:
        self._faults.extend(faults)

    def fail_always(self, fault: Fault | None) -> None:
        self._always = fault

    def reset(self) -> None:
        self._faults.clear()
        self._always = None
        self.requests.clear()
        self.chunk_delay_s = 0.0
        self.streams_cut_by_client = 0
        self.cached_tokens = self.reasoning_tokens = 0

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> FakeOpenAI:
        self.port = self.port or free_port()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake upstream did not start")
        return self

    def stop(self) -> None:
        if getattr(self, "_loop", None) is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
            self._thread.join(5)

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._stop_event = asyncio.Event()

        async def main() -> None:
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_post("/v1/chat/completions", self._chat)
            app.router.add_post("/v1/completions", self._completions)
            app.router.add_post("/v1/embeddings", self._embeddings)
            app.router.add_get("/v1/models", self._models)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            ready.set()
            await self._stop_event.wait()
            await runner.cleanup()

        self._loop.run_until_complete(main())

    # -- handlers -----------------------------------------------------------
    async def _begin(self, request: web.Request) -> tuple[dict[str, Any], Fault | None, web.Response | None]:
        body = orjson.loads(await request.read())
        self.requests.append(Seen(request.path, dict(request.headers), body))
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return body, None, _error(401, "Incorrect API key provided.", "invalid_request_error",
                                      "invalid_api_key")
        fault = self._faults.popleft() if self._faults else self._always
        if fault and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault and fault.status:
            headers = {"retry-after": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            return body, fault, _error(fault.status, fault.message, fault.error_type, fault.code, fault.param,
                                       headers)
        return body, fault, None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body, fault, early = await self._begin(request)
        if early is not None:
            return early
        model = body["model"]
        prompt_tokens = _count_prompt(body.get("messages", []))
        tools = body.get("tools")
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": self.reply, "refusal": None,
                                       "annotations": []}
            finish = "stop"
            completion_tokens = len(self.reply.split())
            if tools:
                message = {"role": "assistant", "content": None, "refusal": None, "annotations": [],
                           "tool_calls": [_tool_call(tools[0])]}
                finish, completion_tokens = "tool_calls", 12
            return web.json_response({
                "id": "chatcmpl-fake123", "object": "chat.completion", "created": int(time.time()),
                "model": model + "-2024-07-18", "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": _usage(prompt_tokens, completion_tokens, self.cached_tokens, self.reasoning_tokens),
            }, dumps=lambda o: orjson.dumps(o).decode())
        return await self._stream_chat(request, body, fault, prompt_tokens)

    async def _stream_chat(self, request: web.Request, body: dict[str, Any], fault: Fault | None,
                           prompt_tokens: int) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream; charset=utf-8"})
        await resp.prepare(request)
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True
        base = {"id": "chatcmpl-fakestream", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body["model"] + "-2024-07-18", "system_fingerprint": "fp_fake"}
        extra = {"usage": None} if include_usage else {}
        tools = body.get("tools")
        deltas: list[dict[str, Any]]
        if tools:
            call = _tool_call(tools[0])
            args = call["function"]["arguments"]
            deltas = [{"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": call["id"], "type": "function",
                 "function": {"name": call["function"]["name"], "arguments": ""}}]}]
            deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": args[i:i + 5]}}]}
                       for i in range(0, len(args), 5)]
            finish, completion_tokens = "tool_calls", 12
        else:
            words = self.reply.split(" ")
            deltas = [{"role": "assistant", "content": "", "refusal": None}]
            deltas += [{"content": w if i == 0 else " " + w} for i, w in enumerate(words)]
            finish, completion_tokens = "stop", len(words)
        chunks = [{**base, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}], **extra}
                  for d in deltas]
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}],
                       **extra})
        try:
            for n, chunk in enumerate(chunks):
                if fault and fault.drop_after_chunks is not None and n >= fault.drop_after_chunks:
                    request.transport.close()  # type: ignore[union-attr]
                    return resp
                await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
                if self.chunk_delay_s:
                    await asyncio.sleep(self.chunk_delay_s)
                    if request.transport is None or request.transport.is_closing():
                        raise ConnectionResetError("client went away")
        except (ConnectionResetError, asyncio.CancelledError):
            self.streams_cut_by_client += 1
            raise
        if include_usage:
            await resp.write(b"data: " + orjson.dumps(
                {**base, "choices": [], "usage": _usage(prompt_tokens, completion_tokens, self.cached_tokens, self.reasoning_tokens)}) + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body, _fault, early = await self._begin(request)
        if early is not None:
            return early
        prompt = body.get("prompt", "")
        prompt_tokens = len(str(prompt).split())
        return web.json_response({
            "id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"text": " " + self.reply, "index": 0, "logprobs": None, "finish_reason": "stop"}],
            "usage": _usage(prompt_tokens, len(self.reply.split()), self.cached_tokens, self.reasoning_tokens),
        })

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body, _fault, early = await self._begin(request)
        if early is not None:
            return early
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = int(body.get("dimensions") or 8)
        data = []
        for i, text in enumerate(inputs):
            vec = [((len(str(text)) + i + j) % 7) / 7.0 for j in range(dims)]
            emb: Any = vec
            if body.get("encoding_format") == "base64":
                emb = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(len(str(t).split()) for t in inputs)
        return web.json_response({"object": "list", "data": data, "model": body["model"],
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "system"}]})


def _count_prompt(messages: list[Any]) -> int:
    n = 0
    for m in messages:
        c = m.get("content") if isinstance(m, dict) else None
        n += len(c.split()) if isinstance(c, str) else 1
    return n + 7


def _usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    cached, reasoning = min(cached, prompt), min(reasoning, completion)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _tool_call(tool: dict[str, Any]) -> dict[str, Any]:
    name = tool.get("function", {}).get("name", "tool")
    return {"id": "call_fake0001", "type": "function",
            "function": {"name": name, "arguments": '{"country": "United Kingdom"}'}}


def _error(status: int, message: str, type_: str, code: str | None = None, param: str | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": type_, "param": param, "code": code}},
                             status=status, headers=headers)
