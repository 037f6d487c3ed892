"""Where the response cache meets the pipeline: answer a hit, and keep a complete 200 answer.

A hit is answered like any request (same headers, a usage record with cost 0);
a miss is passed on to the upstream through `CaptureSend`, which stores the
answer once it is whole — a JSON body at once, a stream at its `[DONE]`.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import orjson

from bonito.cache.answer import assemble, replay_frames
from bonito.cache.runtime import CachedAnswer, CacheRequest
from bonito.gateway.http import JSON_CT, SSE_HEADERS, Headers, send_bytes
from bonito.providers.base import Operation
from bonito.usage.record import UsageRecord

log = logging.getLogger("bonito.gateway")
MISS: tuple[bytes, bytes] = (b"x-bonito-cache", b"miss")


async def serve_hit(req: CacheRequest, hit: CachedAnswer, body: dict[str, Any], record: UsageRecord, send: Any,
                    headers: Headers, started: float) -> None:
    """Answer from the cache: the stored body, or its replay as SSE when the client streams."""
    assert req.hit is not None
    record.cache = req.hit
    record.model_used, record.provider, record.upstream_model = hit.model_used, hit.provider, hit.upstream_model
    record.prompt_tokens, record.completion_tokens = hit.prompt_tokens, hit.completion_tokens
    record.cost_usd = Decimal(0)
    record.cache_saved_usd = Decimal(hit.cost_usd)
    record.attempts = 0
    served: Headers = [*headers, (b"x-bonito-cache", req.hit.encode()), (b"x-bonito-attempts", b"0")]
    if hit.model_used:
        served.append((b"x-bonito-model-used", hit.model_used.encode()))
    if req.op != "embeddings" and body.get("stream") is True:
        record.stream = True
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True
        frames = replay_frames(req.op, hit.answer, include_usage)
        await send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *served]})
        record.ttft_ms = (time.perf_counter() - started) * 1000
        await send({"type": "http.response.body", "body": b"".join(frames), "more_body": False})
    else:
        await send_bytes(send, 200, orjson.dumps(hit.answer), [JSON_CT, *served])
    record.latency_ms = (time.perf_counter() - started) * 1000


class CaptureSend:
    """Passes the answer to the client and stores it in the cache once it is a complete 200."""

    def __init__(self, send: Any, req: CacheRequest, record: UsageRecord, stream: bool) -> None:
        self._send = send
        self._req = req
        self._record = record
        self._stream = stream
        self._status = 0
        self._parts: list[bytes] = []
        self._chunks: list[dict[str, Any]] = []
        self._usage: dict[str, Any] | None = None
        self._broken = False

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
        elif message["type"] == "http.response.body" and self._status == 200 and not self._broken:
            data: bytes = message.get("body", b"")
            last = not message.get("more_body", False)
            if self._stream:
                self._read_frame(data)
            elif data:
                self._parts.append(data)
            if last:
                # stored before the last byte goes out: a client that asks again right away finds it
                await self._store()
        await self._send(message)

    def _read_frame(self, data: bytes) -> None:
        for line in data.split(b"\n"):
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            try:
                chunk = orjson.loads(line[6:])
            except orjson.JSONDecodeError:
                self._broken = True
                return
            if not isinstance(chunk, dict) or "error" in chunk:
                self._broken = True  # an error event: the stream did not complete
                return
            if chunk.get("usage"):
                self._usage = chunk["usage"]
            self._chunks.append(chunk)

    async def _store(self) -> None:
        record = self._record
        if self._broken or record.status != 200 or record.error is not None:
            return
        try:
            answer = self._answer(self._req.op)
        except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
            log.debug("answer not cached: it could not be read back")
            return
        if answer is None:
            return
        entry = CachedAnswer(answer=answer, model_used=record.model_used, provider=record.provider,
                             upstream_model=record.upstream_model, prompt_tokens=record.prompt_tokens,
                             completion_tokens=record.completion_tokens, cost_usd=str(record.cost_usd))
        await self._req.save(entry)

    def _answer(self, op: Operation) -> dict[str, Any] | None:
        if not self._stream:
            answer = orjson.loads(b"".join(self._parts))
            return answer if isinstance(answer, dict) else None
        if not self._chunks:
            return None
        record = self._record
        usage = self._usage or {"prompt_tokens": record.prompt_tokens, "completion_tokens": record.completion_tokens,
                                "total_tokens": record.prompt_tokens + record.completion_tokens}
        return assemble(op, self._chunks, usage)
