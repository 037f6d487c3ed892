"""The `application/vnd.amazon.eventstream` binary framing, decoded incrementally.

Each message is: a 12-byte prelude (total length, headers length, CRC32 of
the first 8 bytes), the headers, the payload, and a CRC32 of everything
before it. Bytes arrive from the network in arbitrary pieces, so the decoder
buffers until a whole message is there and checks both CRCs before trusting
a single byte of it. `encode_message` is the inverse (used by the local fake).
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

_PRELUDE = struct.Struct(">III")
_PRELUDE_LEN = _PRELUDE.size
_CRC_LEN = 4
_MIN_MESSAGE = _PRELUDE_LEN + _CRC_LEN
# The service caps messages at 16 MiB; a larger length means a corrupt prelude.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_MAX_HEADERS_BYTES = 128 * 1024

# Header value types (the eventstream spec numbers them 0..9).
_BOOL_TRUE, _BOOL_FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIMESTAMP, _UUID = range(10)
_FIXED = {_BYTE: struct.Struct(">b"), _SHORT: struct.Struct(">h"), _INT: struct.Struct(">i"),
          _LONG: struct.Struct(">q"), _TIMESTAMP: struct.Struct(">q")}


class EventStreamError(ValueError):
    """The bytes are not a valid eventstream (bad length, bad CRC, bad header)."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One decoded frame: its headers (`:event-type`, `:message-type`…) and raw payload."""

    headers: dict[str, Any]
    payload: bytes

    @property
    def message_type(self) -> str:
        return str(self.headers.get(":message-type", "event"))

    @property
    def event_type(self) -> str:
        return str(self.headers.get(":event-type", ""))


class EventStreamDecoder:
    """Feed it bytes as they arrive; it returns every message completed so far."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[EventMessage]:
        """Append `data` and decode all complete messages; raises EventStreamError on corruption."""
        self._buf += data
        out: list[EventMessage] = []
        while len(self._buf) >= _PRELUDE_LEN:
            total, headers_len, prelude_crc = _PRELUDE.unpack_from(self._buf)
            if zlib.crc32(self._buf[:8]) != prelude_crc:
                raise EventStreamError("eventstream prelude CRC mismatch")
            if total < _MIN_MESSAGE or total > MAX_MESSAGE_BYTES or headers_len > total - _MIN_MESSAGE:
                raise EventStreamError(f"eventstream message length {total} is invalid")
            if len(self._buf) < total:
                break
            frame = bytes(self._buf[:total])
            del self._buf[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - _CRC_LEN)
            if zlib.crc32(frame[: total - _CRC_LEN]) != message_crc:
                raise EventStreamError("eventstream message CRC mismatch")
            headers_end = _PRELUDE_LEN + headers_len
            headers = _decode_headers(frame[_PRELUDE_LEN:headers_end])
            out.append(EventMessage(headers, frame[headers_end : total - _CRC_LEN]))
        return out

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete message (non-zero at EOF = truncated)."""
        return len(self._buf)


def _decode_headers(raw: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    i, end = 0, len(raw)
    try:
        while i < end:
            name_len = raw[i]
            name = raw[i + 1 : i + 1 + name_len].decode()
            i += 1 + name_len
            kind = raw[i]
            i += 1
            value: Any
            if kind == _BOOL_TRUE:
                value = True
            elif kind == _BOOL_FALSE:
                value = False
            elif kind in _FIXED:
                fmt = _FIXED[kind]
                (value,) = fmt.unpack_from(raw, i)
                i += fmt.size
            elif kind in (_BYTES, _STRING):
                (length,) = struct.unpack_from(">H", raw, i)
                chunk = raw[i + 2 : i + 2 + length]
                if len(chunk) != length:
                    raise EventStreamError("eventstream header value is truncated")
                value = chunk.decode() if kind == _STRING else bytes(chunk)
                i += 2 + length
            elif kind == _UUID:
                value = uuid.UUID(bytes=raw[i : i + 16])
                i += 16
            else:
                raise EventStreamError(f"unknown eventstream header type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, EventStreamError):
            raise
        raise EventStreamError(f"malformed eventstream headers: {exc}") from exc
    return headers


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """Encode one frame with string-valued headers and correct CRCs (what the service sends)."""
    raw_headers = bytearray()
    for name, value in headers.items():
        bname, bvalue = name.encode(), value.encode()
        raw_headers += bytes([len(bname)]) + bname + bytes([_STRING]) + struct.pack(">H", len(bvalue)) + bvalue
    if len(raw_headers) > _MAX_HEADERS_BYTES:
        raise EventStreamError("eventstream headers too large")
    total = _PRELUDE_LEN + len(raw_headers) + len(payload) + _CRC_LEN
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + bytes(raw_headers) + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event_frame(event_type: str, payload: bytes) -> bytes:
    """An `event` frame as ConverseStream sends it."""
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, payload
    )


def exception_frame(exception_type: str, message: str) -> bytes:
    """An in-stream `exception` frame (e.g. throttlingException after the stream began)."""
    return encode_message(
        {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
        orjson.dumps({"message": message}),
    )
