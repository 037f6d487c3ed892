"""Bedrock error answers -> UpstreamError (status, type, kind) as the gateway needs them."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from bonito.providers.bedrock.errors import error_from_exception_frame, error_from_http
from bonito.providers.bedrock.eventstream import EventStreamDecoder, exception_frame

BEDROCK = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "bedrock"


def test_recorded_invalid_model_is_a_client_caused_400() -> None:
    resp = json.loads((BEDROCK / "converse_error_400_invalid_model.json").read_text())["response"]
    headers = {**resp["headers"], **resp["synthetic_headers"]}
    err = error_from_http(resp["status"], headers, orjson.dumps(resp["body"]))
    assert (err.status, err.type, err.code) == (400, "invalid_request_error", "ValidationException")
    assert err.message == "The provided model identifier is invalid." and err.client_caused
    # Without the header (as recorded) the HTTP status still decides.
    assert error_from_http(400, resp["headers"], orjson.dumps(resp["body"])).status == 400


# Built from the Bedrock Runtime API reference (no public recordings exist of these).
@pytest.mark.parametrize("cls, status, transient", [
    ("ThrottlingException", 429, True),
    ("ValidationException", 400, False),
    ("AccessDeniedException", 403, False),
    ("ResourceNotFoundException", 404, False),
    ("ModelNotReadyException", 503, True),
    ("ServiceUnavailableException", 503, True),
    ("ModelTimeoutException", 504, True),
    ("InternalServerException", 500, True),
    ("ExpiredTokenException", 502, True),  # our credentials, not the client's request
])
def test_error_classes_map_by_x_amzn_errortype(cls: str, status: int, transient: bool) -> None:
    err = error_from_http(418, {"x-amzn-errortype": f"{cls}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
                          b'{"message": "boom"}')
    assert err.status == status and err.transient is transient and "boom" in err.message


def test_body_type_is_used_when_the_header_is_missing() -> None:
    err = error_from_http(400, {}, b'{"__type": "com.amazon.coral.service#ThrottlingException", "Message": "slow"}')
    assert (err.status, err.message) == (429, "slow")


def test_in_stream_exception_frame_is_a_stream_error() -> None:
    [msg] = EventStreamDecoder().feed(exception_frame("throttlingException", "Too many tokens, please wait."))
    err = error_from_exception_frame(msg.headers, msg.payload)
    assert (err.kind, err.status, err.message) == ("stream", 429, "Too many tokens, please wait.")
    legacy = error_from_exception_frame({":message-type": "error", ":error-code": "InternalFailure",
                                         ":error-message": "oops"}, b"")
    assert (legacy.kind, legacy.status, legacy.message) == ("stream", 502, "oops")
