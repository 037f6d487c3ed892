"""Answer a planned request: a whole JSON response, or an SSE stream passed on as it arrives."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from bonito.gateway.errors import GatewayError
from bonito.gateway.execute import Outcome, open_stream, run_plan
from bonito.gateway.http import JSON_CT, SSE_HEADERS, Headers, send_bytes
from bonito.providers.base import SHAPE_ERRORS, Call, Operation, UpstreamError, shape_error
from bonito.routing.plan import Plan
from bonito.snapshot import ModelEntry
from bonito.usage.meter import read_token_details
from bonito.usage.record import UsageRecord

if TYPE_CHECKING:
    from bonito.gateway.app import Gateway

_DONE = b"data: [DONE]\n\n"
# what ends a stream with an error event: the upstream failing, or an answer its translation cannot read
PUMP_ERRORS: tuple[type[Exception], ...] = (UpstreamError, *SHAPE_ERRORS)
log = logging.getLogger("bonito.gateway")


def _call_factory(op: Operation, body: dict[str, Any], raw: bytes, stream: bool, rid: str) -> Any:
    wants_usage = stream and (body.get("stream_options") or {}).get("include_usage") is True

    def make(target: ModelEntry) -> Call:
        same = target.upstream_model == body["model"]
        if stream and not wants_usage:
            b = {**body, "model": target.upstream_model,
                 "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
            return Call(op, b, target.upstream_model, stream=True, request_id=rid)
        if same:
            return Call(op, body, target.upstream_model, stream=stream, request_id=rid, raw=raw)
        return Call(op, {**body, "model": target.upstream_model}, target.upstream_model, stream=stream,
                    request_id=rid)

    return make


def _finish_record(record: UsageRecord, outcome: Outcome, target: ModelEntry | None) -> None:
    record.attempts = outcome.calls
    chosen = target or outcome.last
    if chosen is not None:
        record.model_used = chosen.name
        record.provider = chosen.provider_id
        record.upstream_model = chosen.upstream_model


def _meter(record: UsageRecord, target: ModelEntry, usage: Any) -> None:
    if isinstance(usage, dict):
        record.prompt_tokens = _int(usage.get("prompt_tokens"))
        record.completion_tokens = _int(usage.get("completion_tokens"))
        read_token_details(record, usage)
    record.cost_usd = target.price.cost(record.prompt_tokens, record.completion_tokens, record.cached_tokens,
                                        record.cache_write_tokens)


def _misunderstood(target: ModelEntry, exc: Exception) -> UpstreamError:
    log.warning("could not translate the answer of %s (%s)", target.provider_id, target.name, exc_info=exc)
    return shape_error(target.provider.type, exc)


def _int(v: Any) -> int:
    return v if isinstance(v, int) and v >= 0 else 0


def _served_headers(outcome: Outcome) -> Headers:
    h: Headers = [(b"x-bonito-attempts", str(outcome.calls).encode())]
    if outcome.target is not None:
        h.append((b"x-bonito-model-used", outcome.target.name.encode()))
    return h


async def _serve(gw: Gateway, plan: Plan, make_call: Any, invoke: Any, outcome: Outcome, record: UsageRecord,
                 headers: Headers, *, stream: bool) -> tuple[Any, ModelEntry]:
    """Run the plan; fill in what the record knows of the targets either way."""
    try:
        result = await run_plan(plan, make_call, invoke, outcome, gw.hooks, gw.retry, stream=stream)
    except GatewayError as err:
        _finish_record(record, outcome, None)
        err.headers.extend([*headers[1:], *_served_headers(outcome)])  # headers[0] is x-request-id
        raise
    target = outcome.target
    assert target is not None
    _finish_record(record, outcome, target)
    return result, target


async def respond_json(gw: Gateway, plan: Plan, op: Operation, body: dict[str, Any], raw: bytes,
                       outcome: Outcome, record: UsageRecord, send: Any, headers: Headers) -> None:
    """Non-streaming: call with retries/fallback, rewrite `model`, meter, answer."""

    async def invoke(target: ModelEntry, call: Call) -> dict[str, Any]:
        try:
            if op == "embeddings":
                return await target.provider.embed(call)
            return await target.provider.invoke(call)
        except SHAPE_ERRORS as exc:
            raise _misunderstood(target, exc) from exc

    result, target = await _serve(gw, plan, _call_factory(op, body, raw, False, record.request_id), invoke,
                                  outcome, record, headers, stream=False)
    if "model" in result:
        result["model"] = target.name
    _meter(record, target, result.get("usage"))
    record.latency_ms = 0.0
    await send_bytes(send, 200, orjson.dumps(result), [JSON_CT, *headers, *_served_headers(outcome)])


async def respond_stream(gw: Gateway, plan: Plan, op: Operation, body: dict[str, Any], raw: bytes,
                         outcome: Outcome, record: UsageRecord, receive: Any, send: Any, headers: Headers,
                         started: float) -> None:
    """Streaming: retry until the first chunk, then pass chunks on as they come."""
    include_usage = (body.get("stream_options") or {}).get("include_usage") is True
    (first, chunks), target = await _serve(gw, plan, _call_factory(op, body, raw, True, record.request_id),
                                           open_stream, outcome, record, headers, stream=True)
    try:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*SSE_HEADERS, *headers, *_served_headers(outcome)]})
    except BaseException:
        gw.hooks.released(target, None)
        with contextlib.suppress(Exception):
            await chunks.aclose()  # type: ignore[attr-defined]
        raise
    pump = _Pump(target, record, include_usage, send, started)
    pump_task = asyncio.ensure_future(pump.run(first, chunks))
    watch_task = asyncio.ensure_future(_wait_disconnect(receive))
    try:
        await asyncio.wait({pump_task, watch_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not pump_task.done():
            # the client went away: stop reading the upstream (closing the generator closes the call)
            pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump_task
            record.status = 499
            record.error = "client disconnected mid-stream"
        watch_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, BaseException):
            await watch_task
        with contextlib.suppress(Exception):
            await chunks.aclose()  # type: ignore[attr-defined]
        pump.settle()
        record.latency_ms = (time.perf_counter() - started) * 1000
        # the whole stream's duration feeds latency-ranked routing; a broken one does not
        completed = record.status == 200
        gw.hooks.released(target, (time.perf_counter() - outcome.answer_started) * 1000 if completed else None)
    if pump_task.done() and not pump_task.cancelled() and (exc := pump_task.exception()) is not None:
        # the client connection broke while we were writing to it
        log.info("stream to client ended early: %s", type(exc).__name__)
        record.status = 499
        record.error = "client disconnected mid-stream"


async def _wait_disconnect(receive: Any) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return


class _Pump:
    """Moves chunks from the provider to the client, metering on the way."""

    def __init__(self, target: ModelEntry, record: UsageRecord, include_usage: bool, send: Any,
                 started: float) -> None:
        self.target = target
        self.record = record
        self.include_usage = include_usage
        self.send = send
        self.started = started
        self.usage: dict[str, Any] | None = None
        self.chars = 0

    async def run(self, first: dict[str, Any], rest: AsyncIterator[dict[str, Any]]) -> None:
        try:
            if first:
                await self._emit(first)
            async for chunk in rest:
                await self._emit(chunk)
        except PUMP_ERRORS as caught:
            exc = caught if isinstance(caught, UpstreamError) else _misunderstood(self.target, caught)
            self.record.status = 502 if exc.kind != "timeout" else 504
            self.record.error = f"upstream stream failed: {exc.message}"[:500]
            err = {"error": {"message": f"The upstream stream failed: {exc.message}", "type": "upstream_error",
                             "param": None, "code": "upstream_stream_failed"}}
            await self.send({"type": "http.response.body", "body": b"data: " + orjson.dumps(err) + b"\n\n",
                             "more_body": True})
        self.settle()  # metered before the end goes out, so a cache storing the answer there knows its cost
        await self.send({"type": "http.response.body", "body": _DONE, "more_body": False})

    async def _emit(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        choices = chunk.get("choices")
        if usage:
            self.usage = usage
            if not choices and not self.include_usage:
                return  # the client did not ask for the usage chunk: it was for metering only
        if choices:
            for c in choices:
                delta = c.get("delta") if isinstance(c, dict) else None
                if isinstance(delta, dict):
                    content = delta.get("content")
                    if isinstance(content, str):
                        self.chars += len(content)
                elif isinstance(c, dict) and isinstance(c.get("text"), str):
                    self.chars += len(c["text"])
        if self.record.ttft_ms is None:
            self.record.ttft_ms = (time.perf_counter() - self.started) * 1000
        if "model" in chunk:
            chunk["model"] = self.target.name
        await self.send({"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n",
                         "more_body": True})

    def settle(self) -> None:
        """Meter the stream: the upstream's usage, or an estimate when it sent none."""
        if self.usage is not None:
            _meter(self.record, self.target, self.usage)
        else:
            # ~4 characters per token: better than recording a free call
            self.record.completion_tokens = (self.chars + 3) // 4
            self.record.cost_usd = self.target.price.cost(self.record.prompt_tokens,
                                                          self.record.completion_tokens)
