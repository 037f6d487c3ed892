"""The OpenAI-compatible gateway: a raw ASGI app over the current Snapshot.

Request path: request id → auth by key hash → parse → resolve model/route →
policy (allowed models) → limits → plan → upstream with retries/fallback →
meter → one usage record. No database, no new connection, no blocking call.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from hashlib import blake2b, sha256
from typing import TYPE_CHECKING, Any

import orjson

from bonito import __version__
from bonito.cache.runtime import ResponseCache
from bonito.gateway import errors
from bonito.gateway.cache_hook import MISS, CaptureSend, serve_hit
from bonito.gateway.errors import GatewayError
from bonito.gateway.execute import Outcome
from bonito.gateway.http import (
    ClientGone,
    Headers,
    Scope,
    header,
    read_body,
    send_error,
    send_json,
)
from bonito.gateway.respond import respond_json, respond_stream
from bonito.limits.base import LimitExceeded, RateDecision, RequestLimiter
from bonito.limits.memory import MemoryRequestLimiter
from bonito.limits.settle import SettleOnEnd
from bonito.providers.base import Operation
from bonito.providers.registry import unavailable_types
from bonito.reliability.retry import RetryPolicy
from bonito.routing.errors import RequestRefused
from bonito.routing.hooks import TargetHooks
from bonito.routing.plan import Plan
from bonito.routing.request import RouteRequest
from bonito.routing.router import Router
from bonito.snapshot import Catalog, KeyEntry, ModelEntry, RouteEntry, Snapshot
from bonito.usage.record import UsageRecord, new_id
from bonito.usage.sink import UsageSink
from bonito.usage.tags import request_tags

_ENDPOINTS: dict[str, Operation] = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
}
_REQUIRED: dict[Operation, str] = {"chat": "messages", "completions": "prompt", "embeddings": "input"}

log = logging.getLogger("bonito.gateway")

if TYPE_CHECKING:
    from bonito.observability.telemetry import Telemetry

ReadyCheck = Callable[[], Awaitable[tuple[bool, dict[str, str]]]]


class Gateway:
    """The /v1 and /health ASGI app. `snapshot` is swapped whole on reload."""

    def __init__(
        self,
        snapshot: Snapshot,
        sink: UsageSink,
        *,
        limiter: RequestLimiter | None = None,
        router: Router | None = None,
        hooks: TargetHooks | None = None,
        retry: RetryPolicy | None = None,
        ready_check: ReadyCheck | None = None,
        source: str = "shared_gateway",
        telemetry: Telemetry | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.sink = sink
        self.limiter: RequestLimiter = limiter or MemoryRequestLimiter()
        self.router = router or Router()
        self.hooks: TargetHooks = hooks or self.router.hooks
        self.retry = retry or RetryPolicy()
        self.ready_check = ready_check
        self.source = source
        self.telemetry = telemetry  # metrics (GET /metrics), traces, per-request log lines
        if telemetry is not None:
            from bonito.gateway.observed import observed_hooks

            self.hooks = observed_hooks(self.hooks, telemetry)
        self.cache = cache or ResponseCache()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        rid = request_id(scope)
        base: Headers = [(b"x-request-id", rid.encode())]
        op = _ENDPOINTS.get(path)
        try:
            if op is not None:
                if scope["method"] != "POST":
                    raise errors.method_not_allowed(scope["method"], path)
                await self._invoke(scope, receive, send, op, rid, base)
            elif path == "/v1/models" or path.startswith("/v1/models/"):
                await self._models(scope, send, path, base)
            elif path == "/health":
                await send_json(send, 200, {"status": "ok", "version": __version__}, base)
            elif path == "/health/ready":
                await self._ready(send, base)
            elif path == "/metrics" and self.telemetry is not None:
                await self.telemetry.serve_metrics(scope, send, base)
            else:
                raise errors.not_found_path(path)
        except GatewayError as err:
            await send_error(send, err, base)
        except ClientGone:
            return
        except Exception:
            # a bug must still answer OpenAI-shaped, with the request id (unless the answer began)
            log.exception("unhandled error on %s %s (request %s)", scope["method"], path, rid)
            with contextlib.suppress(Exception):
                await send_error(send, errors.internal_error(), base)

    # -- /v1/models -------------------------------------------------------
    async def _models(self, scope: Scope, send: Any, path: str, base: Headers) -> None:
        snap = self.snapshot
        key = self._authenticate(scope, snap)
        cat = snap.catalog(key.org_id)
        visible = [name for name in (*cat.models, *cat.routes) if _visible(key, name, cat)]
        if path != "/v1/models":
            wanted = path[len("/v1/models/"):]
            if wanted not in visible:
                raise errors.model_not_found(wanted)
            await send_json(send, 200, _model_obj(wanted), base)
            return
        await send_json(send, 200, {"object": "list", "data": [_model_obj(n) for n in visible]}, base)

    async def _ready(self, send: Any, base: Headers) -> None:
        ok, stores = (True, {}) if self.ready_check is None else await self.ready_check()
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", **stores}
        failed = unavailable_types()
        if failed:
            # the rest serves, so still 200; the reason names the package to install
            body["providers_unavailable"] = failed
        await send_json(send, 200 if ok else 503, body, base)

    # -- /v1/chat/completions, /v1/completions, /v1/embeddings ------------
    async def _invoke(self, scope: Scope, receive: Any, send: Any, op: Operation, rid: str,
                      base: Headers) -> None:
        started = time.perf_counter()
        snap = self.snapshot
        limit = snap.max_body_bytes
        try:
            key = self._authenticate(scope, snap)
        except GatewayError as exc:
            refused = exc
            declared = header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                refused = errors.body_too_large(limit)  # too large whoever sends it: 413
            if self.telemetry is not None:  # no owner, so no usage record: counted here
                self.telemetry.metrics.unowned(refused.status, time.perf_counter() - started)
            raise refused from None
        # from here on the request has an owner: it is recorded once, whatever happens to it
        record = UsageRecord(request_id=rid, org_id=key.org_id, key_id=key.id, key_name=key.name,
                             model_requested=None, endpoint=op, source=self.source)
        plan: Plan | None = None
        outcome = Outcome()
        settle: SettleOnEnd | None = None
        try:
            try:
                raw = await read_body(scope, receive, limit)
            except ClientGone:
                record.status = 499
                record.error = "client disconnected before sending the whole body"
                raise
            body = _parse(raw, op)
            record.request_hash = blake2b(raw, digest_size=16).hexdigest()  # repeats: what a cache would save
            requested: str = body["model"]
            record.model_requested = requested
            meta_header = header(scope, b"x-bonito-metadata")
            plan = await self._plan(key, requested, body, snap, meta_header)
            listed = snap.listed_tags(key.org_id)
            if listed or key.tags:
                record.tags = request_tags(key.tags, listed, RouteRequest(body, meta_header).metadata
                                           if listed else {})
            decision = await self._check_limits(key, snap, body, record.tags)
            headers = [*base, *decision.headers()]
            if decision.needs_settle:
                send = settle = SettleOnEnd(send, self.limiter, decision, record)
            record.route = plan.route
            stream = bool(body.get("stream")) and op != "embeddings"
            record.stream = stream
            cached = self.cache.begin(snap, key, plan.route or requested, _route_cache(key, plan, snap), op, body,
                                      header(scope, b"cache-control"))
            if cached is not None:
                hit = await cached.lookup()
                if hit is not None:
                    await serve_hit(cached, hit, body, record, send, headers, started)
                    return
                headers.append(MISS)
                if cached.write:
                    send = CaptureSend(send, cached, record, stream)
            if stream:
                await respond_stream(self, plan, op, body, raw, outcome, record, receive, send, headers, started)
            else:
                await respond_json(self, plan, op, body, raw, outcome, record, send, headers)
        except GatewayError as err:
            record.status = err.status
            record.error = err.message[:500]
            if MISS not in err.headers and self.cache.enabled_for(snap, key.org_id):
                err.headers.append(MISS)
            raise
        except ClientGone:
            raise
        except Exception as exc:
            record.status = 500
            record.error = f"internal error: {type(exc).__name__}"
            raise
        finally:
            if plan is not None:
                record.decision = {**plan.explain(), "attempts": [a.as_dict() for a in outcome.attempts]}
            if record.latency_ms == 0.0:
                record.latency_ms = (time.perf_counter() - started) * 1000
            self.sink.submit(record)
            if self.telemetry is not None:
                self.telemetry.record(record)
            if settle is not None:
                await settle.finish()

    def _authenticate(self, scope: Scope, snap: Snapshot) -> KeyEntry:
        raw = header(scope, b"authorization")
        token: bytes | None = None
        if raw is not None:
            scheme, _, value = raw.partition(b" ")
            if scheme.lower() == b"bearer" and value.strip():
                token = value.strip()
        if token is None:
            token = header(scope, b"x-api-key")
        if not token:
            raise errors.missing_key()
        key = snap.keys.get(sha256(token).hexdigest())
        if key is None:
            raise errors.unknown_key()
        return key

    async def _plan(self, key: KeyEntry, requested: str, body: dict[str, Any], snap: Snapshot,
                    metadata: bytes | None = None) -> Plan:
        try:
            return await self._plan_for(key, requested, body, snap, metadata)
        except RequestRefused as exc:
            raise errors.bad_request(exc.message, param=exc.param) from None

    async def _plan_for(self, key: KeyEntry, requested: str, body: dict[str, Any], snap: Snapshot,
                        metadata: bytes | None) -> Plan:
        self.router.sync(snap)
        cat = snap.catalog(key.org_id)
        if key.route is not None:
            # an rt- key is bound to its route: it serves every request, whatever `model` says
            route = cat.routes.get(key.route)
            if route is None:
                raise errors.model_not_found(requested)
            req = RouteRequest(body, metadata)
            await self.router.prescore(route, req)
            return self.router.plan_route(route, req, cat)
        route_entry: RouteEntry | None = cat.routes.get(requested)
        if route_entry is not None:
            if not _visible(key, requested, cat):
                raise errors.model_not_allowed(requested)
            req = RouteRequest(body, metadata)
            await self.router.prescore(route_entry, req)
            return self.router.plan_route(route_entry, req, cat)
        model: ModelEntry | None = cat.models.get(requested)
        if model is None:
            raise errors.model_not_found(requested)
        if not key.may_use(requested, model.provider_id):
            raise errors.model_not_allowed(requested)
        if metadata:  # no rule reads it here, but a malformed one is refused as it is on a route
            RouteRequest(body, metadata).check()
        return self.router.plan_model(model)

    async def _check_limits(self, key: KeyEntry, snap: Snapshot, body: dict[str, Any],
                            tags: dict[str, str] | None) -> RateDecision:
        try:
            return await self.limiter.check(key, snap, body, tags)
        except LimitExceeded as exc:
            if self.telemetry is not None:
                self.telemetry.metrics.refused(exc.code)
            raise GatewayError(exc.status, exc.message, type=exc.type, code=exc.code,
                               headers=exc.headers) from None


def _route_cache(key: KeyEntry, plan: Plan, snap: Snapshot) -> bool:
    """Whether the route serving this request lets the cache answer it (`cache: false` opts out)."""
    if plan.route is None:
        return True
    route = snap.catalog(key.org_id).routes.get(plan.route)
    return route is None or route.cache


def _visible(key: KeyEntry, name: str, cat: Catalog) -> bool:
    if key.route is not None:
        return name == key.route
    model = cat.models.get(name)
    return key.may_use(name, model.provider_id if model else None)


def _model_obj(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "bonito"}


def request_id(scope: Scope) -> str:
    """The client's x-request-id when it is sane, else a new one."""
    sent = header(scope, b"x-request-id")
    if sent and len(sent) <= 200 and all(32 < c < 127 for c in sent):
        return sent.decode()
    return f"req_{new_id()}"


def _parse(raw: bytes, op: Operation) -> dict[str, Any]:
    """Parse and minimally check a request body; errors name the field."""
    if not raw:
        raise errors.bad_request("The request body is empty; expected a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise errors.bad_request("'model' is required and must be a non-empty string.", param="model")
    required = _REQUIRED[op]
    value = body.get(required)
    if value is None:
        raise errors.bad_request(f"'{required}' is required.", param=required)
    if op == "chat":
        if not isinstance(value, list) or not value:
            raise errors.bad_request("'messages' must be a non-empty array.", param="messages")
        for i, m in enumerate(value):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise errors.bad_request(f"'messages[{i}]' must be an object with a 'role'.",
                                         param=f"messages[{i}]")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise errors.bad_request("'stream' must be a boolean.", param="stream")
    opts = body.get("stream_options")
    if opts is not None and not isinstance(opts, dict):
        raise errors.bad_request("'stream_options' must be an object.", param="stream_options")
    return body
