"""OpenTelemetry traces, exported over OTLP/HTTP; off (and never imported) unless configured.

Configured by the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` turns it on; `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_*` and the
sampler variables are read by the SDK itself. Each request is a SERVER span
(joining a caller's W3C `traceparent`); each upstream call a CLIENT child span.
Spans follow the GenAI semantic conventions; message content is added only with
`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from bonito.observability.context import RequestContext
from bonito.usage.record import UsageRecord

# gen_ai.operation.name per gateway endpoint
OPERATIONS = {"chat": "chat", "completions": "text_completion", "embeddings": "embeddings"}
PATH_OPERATIONS = {"/v1/chat/completions": "chat", "/v1/completions": "text_completion",
                   "/v1/embeddings": "embeddings"}
# gen_ai.provider.name: the semantic conventions' well-known names for Bonito's provider types
PROVIDER_NAMES = {"openai": "openai", "azure": "azure.ai.openai", "bedrock": "aws.bedrock",
                  "vertex": "gcp.vertex_ai", "anthropic": "anthropic"}
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# Captured content is cut here: a span is no place for a whole document.
MAX_CONTENT_CHARS = 16_384


def tracing_configured(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


class Tracing:
    """The tracer provider of this process and the spans Bonito makes with it."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        # imported here: a server that does not trace never loads the SDK
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        env = os.environ if environ is None else environ
        attrs = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": "bonito"}
        self.provider = TracerProvider(resource=Resource.create(attrs))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.tracer = self.provider.get_tracer("bonito")
        self.propagator = TraceContextTextMapPropagator()
        self.capture_content = env.get(CAPTURE_ENV, "").strip().lower() == "true"
        self._trace = trace
        self._server = trace.SpanKind.SERVER
        self._client = trace.SpanKind.CLIENT
        self._error = trace.StatusCode.ERROR

    # -- the request's span --------------------------------------------------
    def start_request(self, scope: Mapping[str, Any], request_id: str) -> Any:
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())
                   if k in (b"traceparent", b"tracestate")}
        parent = self.propagator.extract(carrier) if carrier else None
        method = scope.get("method", "GET")
        path = scope.get("path", "")
        op = PATH_OPERATIONS.get(path)
        attrs: dict[str, Any] = {"http.request.method": method, "url.path": path, "bonito.request_id": request_id}
        if op is not None:
            attrs["gen_ai.operation.name"] = op
        # named as the HTTP conventions ask when no route template is known: the method alone
        return self.tracer.start_span(op or method, context=parent, kind=self._server,
                                      attributes=attrs)

    def end_request(self, span: Any, status: int, exc: BaseException | None = None) -> None:
        span.set_attribute("http.response.status_code", status)
        if exc is not None:
            span.record_exception(exc)
            span.set_attribute("error.type", type(exc).__qualname__)
        if status >= 500 or exc is not None:
            span.set_status(self._error)
            if exc is None:
                span.set_attribute("error.type", str(status))
        span.end()

    def annotate(self, span: Any, r: UsageRecord) -> None:
        """The GenAI attributes of a /v1 request, from its usage record."""
        op = OPERATIONS.get(r.endpoint, r.endpoint)
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": op,
            "gen_ai.usage.input_tokens": r.prompt_tokens,
            "gen_ai.usage.output_tokens": r.completion_tokens,
            "bonito.org_id": r.org_id,
            "bonito.attempts": r.attempts,
            "bonito.cost_usd": float(r.cost_usd),
            "bonito.stream": r.stream,
        }
        if r.model_requested:
            attrs["gen_ai.request.model"] = r.model_requested
            span.update_name(f"{op} {r.model_requested}")
        if r.model_used:
            attrs["gen_ai.response.model"] = r.model_used
        if r.provider:
            attrs["bonito.provider.id"] = r.provider
        if r.route:
            attrs["bonito.route"] = r.route
        if r.ttft_ms is not None:
            attrs["bonito.time_to_first_token_s"] = r.ttft_ms / 1000
        cache = getattr(r, "cache", None)
        if cache is not None:
            attrs["bonito.cache"] = cache
        span.set_attributes(attrs)

    # -- an upstream call's span -----------------------------------------------
    def start_attempt(self, ctx: RequestContext, model: str, upstream_model: str, provider_id: str,
                      provider_type: str) -> None:
        parent = ctx.span
        if parent is None:
            return
        op = parent.attributes.get("gen_ai.operation.name", "chat")
        name = PROVIDER_NAMES.get(provider_type, provider_type)
        ctx.attempt = self.tracer.start_span(
            f"{op} {upstream_model}", context=self._trace.set_span_in_context(parent), kind=self._client,
            attributes={"gen_ai.operation.name": op, "gen_ai.request.model": upstream_model,
                        "gen_ai.provider.name": name, "bonito.model": model, "bonito.provider.id": provider_id})
        # the request's provider is the one that answered: the last call made
        parent.set_attribute("gen_ai.provider.name", name)

    def attempt_result(self, ctx: RequestContext, result: str) -> None:
        span = ctx.attempt
        if span is not None and result != "ok":
            span.set_status(self._error)
            span.set_attribute("error.type", {"failure": "upstream_error", "answered": "upstream_client_error",
                                              "cancelled": "cancelled"}.get(result, result))

    def end_attempt(self, ctx: RequestContext) -> None:
        span, ctx.attempt = ctx.attempt, None
        if span is not None:
            span.end()

    def shutdown(self) -> None:
        """Export what is pending, then stop."""
        self.provider.shutdown()
