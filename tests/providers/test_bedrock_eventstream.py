"""The eventstream decoder on the recorded ConverseStream bytes, split every way, and on corrupt input."""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib
from pathlib import Path

import pytest

from bonito.providers.bedrock.eventstream import (
    EventStreamDecoder,
    EventStreamError,
    encode_message,
    event_frame,
    exception_frame,
)

BEDROCK = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "bedrock"
STREAMS = sorted(p.stem for p in BEDROCK.glob("converse_stream_*.json"))


def recorded(name: str) -> tuple[bytes, int]:
    resp = json.loads((BEDROCK / f"{name}.json").read_text())["response"]
    return base64.b64decode(resp["body_b64"]), resp["eventstream_messages"]


@pytest.mark.parametrize("name", STREAMS)
def test_decodes_every_recorded_frame_whole_and_byte_by_byte(name: str) -> None:
    raw, count = recorded(name)
    whole = EventStreamDecoder().feed(raw)
    assert len(whole) == count
    assert whole[0].event_type == "messageStart" and whole[-1].event_type == "metadata"
    assert all(m.message_type == "event" and m.headers[":content-type"] == "application/json" for m in whole)
    decoder = EventStreamDecoder()
    one_by_one = [m for i in range(len(raw)) for m in decoder.feed(raw[i:i + 1])]
    assert one_by_one == whole and decoder.pending == 0


@pytest.mark.parametrize("seed", range(5))
def test_random_split_points_give_the_same_messages(seed: int) -> None:
    raw, _ = recorded("converse_stream_tool_use")
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(raw)), 40))
    decoder = EventStreamDecoder()
    got = [m for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True) for m in decoder.feed(raw[a:b])]
    assert got == EventStreamDecoder().feed(raw)


def test_payload_corruption_fails_the_message_crc() -> None:
    raw, _ = recorded("converse_stream_tool_result_turn")
    bad = bytearray(raw)
    bad[60] ^= 0x01  # inside the first frame's payload
    with pytest.raises(EventStreamError, match="message CRC"):
        EventStreamDecoder().feed(bytes(bad))


def test_prelude_corruption_fails_the_prelude_crc_before_waiting_for_a_bogus_length() -> None:
    raw, _ = recorded("converse_stream_tool_result_turn")
    bad = bytearray(raw)
    bad[1] ^= 0x40  # total length now says ~4 MiB; the prelude CRC must catch it at once
    with pytest.raises(EventStreamError, match="prelude CRC"):
        EventStreamDecoder().feed(bytes(bad[:12]))


def test_absurd_length_with_a_valid_prelude_crc_is_refused() -> None:
    prelude = struct.pack(">II", 64 * 1024 * 1024, 0)
    with pytest.raises(EventStreamError, match="length"):
        EventStreamDecoder().feed(prelude + struct.pack(">I", zlib.crc32(prelude)))


def test_encoder_roundtrips_and_reproduces_recorded_frames_exactly() -> None:
    raw, _ = recorded("converse_stream_tool_result_turn")
    first = EventStreamDecoder().feed(raw)[0]
    assert event_frame(first.event_type, first.payload) == raw[:struct.unpack(">I", raw[:4])[0]]
    frame = exception_frame("throttlingException", "Too many tokens")
    [msg] = EventStreamDecoder().feed(frame)
    assert msg.message_type == "exception" and msg.headers[":exception-type"] == "throttlingException"
    assert json.loads(msg.payload) == {"message": "Too many tokens"}


def test_all_header_value_types_decode() -> None:
    def header(name: str, kind: int, value: bytes) -> bytes:
        return bytes([len(name)]) + name.encode() + bytes([kind]) + value

    import uuid
    u = uuid.uuid4()
    headers = (header("t", 0, b"") + header("f", 1, b"") + header("b", 2, b"\xff") + header("s", 3, b"\x01\x00")
               + header("i", 4, struct.pack(">i", -5)) + header("l", 5, struct.pack(">q", 2**40))
               + header("y", 6, b"\x00\x02\x01\x02") + header("z", 7, b"\x00\x02hi")
               + header("ts", 8, struct.pack(">q", 1700000000000)) + header("u", 9, u.bytes))
    total = 12 + len(headers) + 4
    prelude = struct.pack(">II", total, len(headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers
    frame = body + struct.pack(">I", zlib.crc32(body))
    [msg] = EventStreamDecoder().feed(frame)
    assert msg.headers == {"t": True, "f": False, "b": -1, "s": 256, "i": -5, "l": 2**40, "y": b"\x01\x02",
                           "z": "hi", "ts": 1700000000000, "u": u}
    assert msg.payload == b""


def test_encode_message_matches_decoder() -> None:
    frame = encode_message({":message-type": "event", ":event-type": "x"}, b'{"a":1}')
    assert EventStreamDecoder().feed(frame)[0].payload == b'{"a":1}'
