"""The one protocol every provider adapter implements, and the types that cross it.

A provider speaks OpenAI on its Bonito side and its own wire format upstream.
The gateway hands it a `Call` (an OpenAI-shaped request body whose `model` is
already the upstream id) and receives OpenAI-shaped dicts back: a whole
response from `invoke`/`embed`, or `chat.completion.chunk` dicts from `stream`.
Failures are raised as `UpstreamError`, which carries everything the gateway
needs to decide between retrying, falling back and answering the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, runtime_checkable

Operation = Literal["chat", "completions", "embeddings"]

# Statuses that say "try again later" rather than "your request is wrong".
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
# The upstream refused Bonito's own credentials for the provider.
PROVIDER_AUTH_STATUSES = frozenset({401, 407})


@dataclass(slots=True)
class Call:
    """One upstream call. `body` is the OpenAI request with `model` = upstream id."""

    operation: Operation
    body: dict[str, Any]
    upstream_model: str
    stream: bool = False
    timeout_s: float = 600.0
    request_id: str = ""
    # The client's original bytes, when `body` is exactly them (lets a
    # pass-through provider skip re-serialising).
    raw: bytes | None = None


@dataclass(slots=True)
class UpstreamError(Exception):
    """A failed upstream call, already mapped to the OpenAI error vocabulary.

    kind: "http" (the upstream answered with an error status), "connect" (no
    connection could be made or it broke), "timeout" (no answer in time),
    "protocol" (the answer could not be understood), "stream" (the stream
    broke after it started).
    """

    status: int
    message: str
    kind: Literal["http", "connect", "timeout", "protocol", "stream"] = "http"
    type: str = "upstream_error"
    code: str | None = None
    param: str | None = None
    retry_after_s: float | None = None
    # The upstream's own error body when it was OpenAI-shaped; passed through
    # to the client for client-caused 4xx.
    body: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.status}: {self.message}"

    @property
    def transient(self) -> bool:
        """Worth retrying or failing over: connect errors, timeouts, throttling, 5xx."""
        if self.kind in ("connect", "timeout"):
            return True
        if self.kind == "stream" or self.kind == "protocol":
            return self.status >= 500
        return self.status in TRANSIENT_STATUSES

    @property
    def client_caused(self) -> bool:
        """A 4xx the caller caused (bad parameter, unknown model upstream…): passed through.

        401/407 are not: they say the provider credentials configured in Bonito were rejected,
        which the client can do nothing about (and whose message may quote part of the key)."""
        return (self.kind == "http" and 400 <= self.status < 500 and not self.transient
                and self.status not in PROVIDER_AUTH_STATUSES)


# What a translation raises when an answer has a shape it does not expect (a field of the wrong type…)
SHAPE_ERRORS: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def shape_error(provider: str, exc: Exception) -> UpstreamError:
    """An answer Bonito could not understand: a 502 that retries and fallbacks treat as a failure."""
    return UpstreamError(502, f"the {provider} upstream answered in a shape Bonito does not understand "
                              f"({type(exc).__name__})", kind="protocol")


@dataclass(slots=True)
class ValidationResult:
    """Outcome of checking a provider's credentials with a cheap real call."""

    ok: bool
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ModelInfo:
    """One model a provider account can serve (for the catalog)."""

    id: str
    name: str = ""
    kind: Literal["chat", "embeddings", "completions", "other"] = "chat"
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """A configured provider account. One instance per provider id, shared by all requests."""

    type: str
    id: str

    async def invoke(self, call: Call) -> dict[str, Any]:
        """Non-streaming chat or text completion; returns the OpenAI-shaped response."""
        ...

    def stream(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        """Streaming chat or text completion: OpenAI `chat.completion.chunk` dicts.

        Must ask the upstream for usage when it can and yield it as OpenAI does:
        a final chunk with `"choices": []` and `usage`. Raises UpstreamError
        before the first chunk (nothing sent yet) or with kind="stream" after.
        """
        ...

    async def embed(self, call: Call) -> dict[str, Any]:
        """Embeddings; returns the OpenAI `list` of `embedding` objects with `usage`."""
        ...

    async def list_models(self) -> list[ModelInfo]:
        """The models this account can use (catalog)."""
        ...

    async def validate(self) -> ValidationResult:
        """Check the credentials with a cheap authenticated call; message says what is wrong."""
        ...

    async def health(self) -> bool:
        """Whether the upstream answers at all."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def unsupported(param: str, provider_type: str, detail: str = "") -> UpstreamError:
    """A 400 for a request parameter the provider cannot honour (never a silent drop)."""
    msg = f"'{param}' is not supported by {provider_type} providers"
    if detail:
        msg += f": {detail}"
    return UpstreamError(400, msg, type="invalid_request_error", code="unsupported_parameter", param=param)
