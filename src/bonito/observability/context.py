"""What the observers know of the request being served (set only where logs or traces want it)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from bonito.usage.record import UsageRecord


@dataclass(slots=True)
class RequestContext:
    """One HTTP request as the access log and the tracer follow it."""

    request_id: str
    span: Any = None  # the request's span, when tracing
    attempt: Any = None  # the upstream call's span in progress, when tracing
    record: UsageRecord | None = None  # the gateway's usage record, once submitted


current_request: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("bonito_request",
                                                                                       default=None)
