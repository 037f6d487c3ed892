"""Carry out a Plan: call targets in order with retries, then fall back; map the final failure.

Streams are retried only until their first chunk arrives: nothing has been
sent to the client before that, so another attempt is invisible to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from bonito.gateway.errors import GatewayError
from bonito.providers.base import PROVIDER_AUTH_STATUSES, SHAPE_ERRORS, Call, UpstreamError, shape_error
from bonito.reliability.retry import RetryPolicy
from bonito.routing.hooks import TargetHooks
from bonito.routing.plan import Attempt, Plan
from bonito.snapshot import ModelEntry

log = logging.getLogger("bonito.gateway")
CallFactory = Callable[[ModelEntry], Call]


@dataclass(slots=True)
class Outcome:
    """What serving one request took; filled in as attempts are made."""

    attempts: list[Attempt] = field(default_factory=list)
    target: ModelEntry | None = None  # the target that answered
    last: ModelEntry | None = None  # the last target called
    answer_started: float = 0.0  # perf_counter() when the answering call began

    @property
    def calls(self) -> int:
        return sum(1 for a in self.attempts if a.outcome != "skipped")


async def run_plan(
    plan: Plan,
    make_call: CallFactory,
    invoke: Callable[[ModelEntry, Call], Any],
    outcome: Outcome,
    hooks: TargetHooks,
    retry: RetryPolicy,
    *,
    stream: bool = False,
) -> Any:
    """Try targets in order; return the first success of `invoke(target, call)`.

    `invoke` is a coroutine function (non-stream) or returns an awaitable first
    chunk plus iterator (stream). Raises GatewayError when every target failed.
    With `stream`, the answering target stays in flight: the caller calls
    `hooks.released` when the stream ends.
    """
    deadline = time.monotonic() + plan.timeout_s if plan.timeout_s else None
    last: UpstreamError | None = None
    for target in plan.targets:
        admission = await hooks.admit(plan, target)
        if admission is None:
            outcome.attempts.append(Attempt(target.name, target.provider_id, "skipped", error="circuit open"))
            continue
        for attempt in range(1, plan.max_attempts + 1):
            call = make_call(target)
            if plan.attempt_timeout_s is not None:
                call.timeout_s = min(call.timeout_s, plan.attempt_timeout_s)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    hooks.finished(plan, target, admission, "cancelled", 0.0, stream)
                    raise timeout_error(plan)
                call.timeout_s = min(call.timeout_s, remaining)
            outcome.last = target
            hooks.started(target)
            started = time.perf_counter()
            try:
                result = await invoke(target, call)
            except UpstreamError as exc:
                ms = (time.perf_counter() - started) * 1000
                again = hooks.finished(plan, target, admission, "failure" if exc.transient else "answered", ms,
                                       stream)
                hooks.released(target, None)
                outcome.attempts.append(Attempt(target.name, target.provider_id, "error", exc.status, ms,
                                                exc.message[:300]))
                last = exc
                if exc.client_caused:
                    raise passthrough(exc) from None
                if not exc.transient or not again or attempt == plan.max_attempts:
                    break
                delay = retry.delay(attempt, exc.retry_after_s)
                if delay is None or (deadline is not None and time.monotonic() + delay >= deadline):
                    break
                await asyncio.sleep(delay)
                continue
            except BaseException:
                hooks.finished(plan, target, admission, "cancelled", 0.0, stream)
                hooks.released(target, None)
                raise
            ms = (time.perf_counter() - started) * 1000
            hooks.finished(plan, target, admission, "ok", ms, stream)
            if not stream:
                hooks.released(target, None)
            outcome.attempts.append(Attempt(target.name, target.provider_id, "ok", 200, ms))
            outcome.target = target
            outcome.answer_started = started
            return result
    raise final_error(last, plan)


def passthrough(exc: UpstreamError) -> GatewayError:
    """A client-caused upstream 4xx, answered with the upstream's own status and message."""
    body = exc.body
    err = body.get("error") if body is not None else None
    if body is not None and isinstance(err, dict) and (not {"message", "type", "param", "code"} <= err.keys()
                                                       or not isinstance(err.get("type"), str)):
        # the upstream's own body, completed to OpenAI's four keys (`type` a string, as ErrorResponse wants)
        body = {**body, "error": {"message": exc.message, "param": exc.param, "code": exc.code, **err,
                                  "type": err["type"] if isinstance(err.get("type"), str)
                                  else exc.type or "invalid_request_error"}}
    return GatewayError(exc.status, exc.message, type=exc.type or "invalid_request_error", code=exc.code,
                        param=exc.param, body=body)


def timeout_error(plan: Plan) -> GatewayError:
    return GatewayError(504, f"The upstream did not answer within {plan.timeout_s:g}s.", type="timeout",
                        code="upstream_timeout")


def final_error(last: UpstreamError | None, plan: Plan) -> GatewayError:
    """Map the last failure once every target and retry is spent."""
    if last is None:
        return GatewayError(503, "No target is available: every target's circuit breaker is open.",
                            type="service_unavailable", code="no_available_target")
    if last.kind == "timeout":
        return GatewayError(504, "The upstream timed out.", type="timeout", code="upstream_timeout")
    if last.status == 429:
        # every 429 says when to come back: the upstream's wait, else a second
        wait = 1 if last.retry_after_s is None else max(1, int(-(-last.retry_after_s // 1)))
        headers = [(b"retry-after", str(wait).encode())]
        return GatewayError(429, f"The upstream is rate limiting requests: {last.message}",
                            type="rate_limit_exceeded", code="upstream_rate_limited", headers=headers)
    tried = "the upstream" if len(plan.targets) == 1 else f"all {len(plan.targets)} targets"
    if last.kind == "http" and last.status in PROVIDER_AUTH_STATUSES:
        # never echo the upstream's words here: they may quote the provider key
        return GatewayError(502, f"The upstream rejected the provider credentials configured in Bonito "
                                 f"(HTTP {last.status}) on {tried}.", type="upstream_error",
                            code="provider_auth_failed")
    return GatewayError(502, f"Upstream request failed after retries on {tried}: {last.message}",
                        type="upstream_error", code="upstream_failed")


async def open_stream(target: ModelEntry, call: Call) -> tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]:
    """Start a stream and wait for its first chunk (failures before it are retryable)."""
    agen = target.provider.stream(call)
    try:
        first = await agen.__anext__()
    except StopAsyncIteration:
        return {}, agen
    except SHAPE_ERRORS as exc:  # an answer it could not understand: a failure to retry or fall back from
        await agen.aclose()  # type: ignore[attr-defined]
        log.warning("could not translate the stream of %s (%s)", target.provider_id, target.name, exc_info=exc)
        raise shape_error(target.provider.type, exc) from exc
    except BaseException:
        await agen.aclose()  # type: ignore[attr-defined]
        raise
    return first, agen
