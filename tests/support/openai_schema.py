"""Every /v1 answer held against OpenAI's own response schemas (../shared/specs/openai-openapi.json).

`ValidatingTransport` sits under the official SDK's HTTP client: it passes each response through
unchanged and, once its body has been read, checks it (each SSE chunk of a stream too) against the
schema for its path and status, raising `SchemaViolation` into the test that made the call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import openai
from jsonschema import Draft202012Validator

# the HTTP library the installed openai SDK is built on (httpx, or its successor httpx2)
httpx: Any = __import__(openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])
SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "openai-openapi.json"

# path -> (schema of a 200 JSON body, schema of one SSE chunk)
_OK: dict[str, tuple[str, str | None]] = {
    "/v1/chat/completions": ("CreateChatCompletionResponse", "CreateChatCompletionStreamResponse"),
    "/v1/completions": ("CreateCompletionResponse", "CreateCompletionResponse"),
    "/v1/embeddings": ("CreateEmbeddingResponse", None),
    "/v1/models": ("ListModelsResponse", None),
}


class SchemaViolation(AssertionError):
    """An answer that a strict OpenAI client would reject."""


@cache
def validator(name: str) -> Draft202012Validator:
    spec = json.loads(SPEC.read_text())
    root = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return Draft202012Validator(root)


def check(name: str, doc: Any, where: str) -> None:
    """Raise SchemaViolation naming every way `doc` breaks schema `name`."""
    problems = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in problems[:5]]
        raise SchemaViolation(f"{where} does not match OpenAI's {name}:\n  " + "\n  ".join(lines))


def check_response(path: str, status: int, content_type: str, body: bytes) -> None:
    """Check one complete /v1 answer (JSON or SSE) as the spec describes it."""
    where = f"{status} {path}"
    if status != 200:
        if body:
            check("ErrorResponse", json.loads(body), where)
        return
    ok = _OK.get(path.split("?")[0].rstrip("/"))
    if ok is None:
        if path.startswith("/v1/models/"):
            check("Model", json.loads(body), where)
        return
    whole, chunk = ok
    if not content_type.startswith("text/event-stream"):
        doc = json.loads(body)
        if whole == "CreateEmbeddingResponse":
            # with encoding_format=base64 OpenAI sends each vector as a base64 string, which its spec
            # does not describe: check the rest of the body
            for item in doc.get("data") or []:
                if isinstance(item, dict) and isinstance(item.get("embedding"), str):
                    item["embedding"] = []
        check(whole, doc, where)
        return
    for event in body.decode().split("\n\n"):
        data = "".join(line[5:].strip() for line in event.splitlines() if line.startswith("data:"))
        if not data or data == "[DONE]":
            continue
        doc = json.loads(data)
        # a failure after the stream began is sent as an OpenAI error event
        check("ErrorResponse" if "error" in doc else (chunk or whole), doc, f"{where} stream chunk")


class _Checked(httpx.SyncByteStream):  # type: ignore[misc]
    def __init__(self, inner: Any, path: str, status: int, content_type: str) -> None:
        self._inner, self._path, self._status, self._ct = inner, path, status, content_type

    def __iter__(self) -> Iterator[bytes]:
        seen = bytearray()
        for part in self._inner:
            seen += part
            yield part
        check_response(self._path, self._status, self._ct, bytes(seen))

    def close(self) -> None:
        self._inner.close()


class ValidatingTransport(httpx.HTTPTransport):  # type: ignore[misc]
    """An httpx transport that checks every /v1 answer against the spec as the client reads it."""

    def handle_request(self, request: Any) -> Any:
        response = super().handle_request(request)
        path = request.url.path
        if not path.startswith("/v1/"):
            return response
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _Checked(response.stream, path, response.status_code,
                                   response.headers.get("content-type", ""))
        return response
