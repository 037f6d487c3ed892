"""What each recorded provider answer costs, cached and reasoning tokens included, against hand-computed sums.

Each case runs the provider's recorded answer (JSON or stream) through its adapter's translation, reads
the token breakdown the way the gateway meters it, and prices it from the packaged price list. The
"cached" cases are the same recordings with the cache counts each provider reports set to non-zero
values (the recordings themselves hit no cache).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonito.providers.anthropic.messages import from_messages_response
from bonito.providers.anthropic.stream import MessagesStream
from bonito.providers.bedrock.converse_response import converse_to_chat
from bonito.providers.bedrock.converse_stream import ConverseStreamTranslator
from bonito.providers.bedrock.eventstream import EventStreamDecoder
from bonito.providers.vertex import gemini
from bonito.providers.vertex.streaming import StreamTranslator
from bonito.usage.meter import read_token_details
from bonito.usage.pricing import list_price
from bonito.usage.record import UsageRecord

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def metered(provider: str, model: str, usage: dict[str, Any]) -> UsageRecord:
    """The usage record's counts and cost, as the gateway meters a finished call."""
    record = UsageRecord(request_id="r", org_id="o", key_id=None, key_name=None, model_requested=model)
    record.prompt_tokens, record.completion_tokens = usage["prompt_tokens"], usage["completion_tokens"]
    read_token_details(record, usage)
    price = list_price(provider, model)
    assert price is not None, (provider, model)
    record.cost_usd = price.cost(record.prompt_tokens, record.completion_tokens, record.cached_tokens,
                                 record.cache_write_tokens)
    return record


# -- each provider's translation: recorded answer (maybe edited) -> OpenAI usage --------------------


def sse_data(body_text: str) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in body_text.splitlines()
            if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]")]


def openai_json(fx: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(fx["response"]["body"])
    edit(body["usage"])
    return dict(body["usage"])  # OpenAI and Azure answers pass through unchanged


def openai_stream(fx: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    usage = [c["usage"] for c in sse_data(fx["response"]["body_text"]) if c.get("usage")][-1]
    edit(usage)
    return dict(usage)


def anthropic_json(fx: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(fx["response"]["body"])
    edit(body["usage"])
    return dict(from_messages_response(body)["usage"])


def anthropic_stream(fx: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    translator = MessagesStream()
    chunks: list[dict[str, Any]] = []
    for raw in fx["response"]["body_text"].split("\n\n"):
        event = next((ln[6:].strip() for ln in raw.splitlines() if ln.startswith("event:")), "")
        data = "".join(ln[5:].strip() for ln in raw.splitlines() if ln.startswith("data:"))
        if not data:
            continue
        payload = json.loads(data)
        if event == "message_start":
            edit(payload["message"]["usage"])  # Anthropic reports cache reads and writes here
        elif event == "message_delta" and "cache_read_input_tokens" in payload.get("usage", {}):
            edit(payload["usage"])  # and repeats its cumulative counts at the end
        chunks.extend(translator.feed(event, payload))
    translator.finish()
    return dict([c for c in chunks if c.get("usage")][-1]["usage"])


def bedrock_json(fx: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(fx["response"]["body"])
    edit(body["usage"])
    return dict(converse_to_chat(body, "m")["usage"])


def bedrock_stream(fx: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    translator = ConverseStreamTranslator("m")
    for message in EventStreamDecoder().feed(base64.b64decode(fx["response"]["body_b64"])):
        payload = orjson.loads(message.payload)
        if message.event_type == "metadata":
            edit(payload["usage"])
        translator.on_event(message.event_type, payload)
    return dict(translator.finish()["usage"])


def vertex_json(fx: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(fx["response"]["body"])
    edit(body["usageMetadata"])
    return dict(gemini.chat_response(body, "m")["usage"])


def vertex_stream(fx: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    translator = StreamTranslator("m")
    chunks: list[dict[str, Any]] = []
    for event in sse_data(fx["response"]["body_text"]):
        if "usageMetadata" in event:
            edit(event["usageMetadata"])
        chunks.extend(translator.feed(event))
    chunks.extend(translator.finish())
    return dict([c for c in chunks if c.get("usage")][-1]["usage"])


def as_recorded(_: dict[str, Any]) -> None:
    return None


def setting(**values: int) -> Callable[[dict[str, Any]], None]:
    """Set counts in a usage object; `details__name` sets a key of a nested *_details object."""
    def edit(usage: dict[str, Any]) -> None:
        for name, v in values.items():
            if "__" in name:
                outer, inner = name.split("__")
                usage.setdefault(outer, {})[inner] = v
            else:
                usage[name] = v
    return edit


Case = tuple[str, Callable[..., dict[str, Any]], Callable[[dict[str, Any]], None], str, str,
             tuple[int, int, int, int, int], str]

# (fixture, translation, edit, provider, model priced,
#  (prompt, completion, cached, cache_write, reasoning) expected, cost expected — worked out by hand)
CASES: list[Case] = [
    # gpt-4o $2.50 in, $10 out, $1.25 cached: 14×2.5 + 7×10 = 105 µ$
    ("openai/chat_text", openai_json, as_recorded, "openai", "gpt-4o", (14, 7, 0, 0, 0), "0.000105"),
    # 4 fresh × 2.5 + 10 cached × 1.25 + 7 × 10 = 10 + 12.5 + 70 = 92.5 µ$
    ("openai/chat_text", openai_json, setting(prompt_tokens_details__cached_tokens=10), "openai", "gpt-4o",
     (14, 7, 10, 0, 0), "0.0000925"),
    # gpt-4o-mini $0.15 / $0.60 / cached $0.075: 53×0.15 + 15×0.6 = 7.95 + 9 = 16.95 µ$
    ("openai/chat_stream_tool_call_include_usage", openai_stream, as_recorded, "openai", "gpt-4o-mini",
     (53, 15, 0, 0, 0), "0.00001695"),
    # 13×0.15 + 40×0.075 + 9 = 1.95 + 3 + 9 = 13.95 µ$
    ("openai/chat_stream_tool_call_include_usage", openai_stream,
     setting(prompt_tokens_details__cached_tokens=40), "openai", "gpt-4o-mini", (53, 15, 40, 0, 0), "0.00001395"),
    # Azure gpt-5-mini $0.25 / $2 / cached $0.025: 15×0.25 + 12×2 = 3.75 + 24 = 27.75 µ$
    ("azure/chat_v1_api_text_gpt5", openai_json, as_recorded, "azure", "gpt-5-mini", (15, 12, 0, 0, 0),
     "0.00002775"),
    # 5×0.25 + 10×0.025 + 12×2 = 1.25 + 0.25 + 24 = 25.5 µ$; the 8 reasoning tokens are completion tokens
    ("azure/chat_v1_api_text_gpt5", openai_json,
     setting(prompt_tokens_details__cached_tokens=10, completion_tokens_details__reasoning_tokens=8), "azure",
     "gpt-5-mini", (15, 12, 10, 0, 8), "0.0000255"),
    # Claude Sonnet 4 $3 / $15, cache reads $0.30, writes $3.75: 17×3 + 15×15 = 51 + 225 = 276 µ$
    ("anthropic/messages_text", anthropic_json, as_recorded, "anthropic", "claude-sonnet-4-0", (17, 15, 0, 0, 0),
     "0.000276"),
    # prompt = 17 + 1000 + 200; 17×3 + 1000×0.3 + 200×3.75 + 15×15 = 51 + 300 + 750 + 225 = 1326 µ$
    ("anthropic/messages_text", anthropic_json,
     setting(cache_read_input_tokens=1000, cache_creation_input_tokens=200), "anthropic", "claude-sonnet-4-0",
     (1217, 15, 1000, 200, 0), "0.001326"),
    # 43×3 + 282×15 = 129 + 4230 = 4359 µ$
    ("anthropic/messages_stream_thinking", anthropic_stream, as_recorded, "anthropic", "claude-sonnet-4-0",
     (43, 282, 0, 0, 0), "0.004359"),
    # 43×3 + 500×0.3 + 100×3.75 + 4230 = 129 + 150 + 375 + 4230 = 4884 µ$
    ("anthropic/messages_stream_thinking", anthropic_stream,
     setting(cache_read_input_tokens=500, cache_creation_input_tokens=100), "anthropic", "claude-sonnet-4-0",
     (643, 282, 500, 100, 0), "0.004884"),
    # Bedrock Claude Sonnet 4.5 (us. profile) $3 / $15 / $0.30 / $3.75: 560×3 + 53×15 = 1680 + 795 = 2475 µ$
    ("bedrock/converse_tool_use_claude", bedrock_json, as_recorded, "bedrock",
     "us.anthropic.claude-sonnet-4-5-20250929-v1:0", (560, 53, 0, 0, 0), "0.002475"),
    # 560×3 + 2000×0.3 + 400×3.75 + 53×15 = 1680 + 600 + 1500 + 795 = 4575 µ$
    ("bedrock/converse_tool_use_claude", bedrock_json, setting(cacheReadInputTokens=2000, cacheWriteInputTokens=400),
     "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", (2960, 53, 2000, 400, 0), "0.004575"),
    # Claude Sonnet 4 on Bedrock: 36×3 + 73×15 = 108 + 1095 = 1203 µ$
    ("bedrock/converse_stream_reasoning_claude", bedrock_stream, as_recorded, "bedrock",
     "us.anthropic.claude-sonnet-4-20250514-v1:0", (36, 73, 0, 0, 0), "0.001203"),
    # 36×3 + 300×0.3 + 64×3.75 + 1095 = 108 + 90 + 240 + 1095 = 1533 µ$
    ("bedrock/converse_stream_reasoning_claude", bedrock_stream,
     setting(cacheReadInputTokens=300, cacheWriteInputTokens=64), "bedrock",
     "us.anthropic.claude-sonnet-4-20250514-v1:0", (400, 73, 300, 64, 0), "0.001533"),
    # Gemini 2.5 Flash $0.30 / $2.50 / cached $0.03; thoughts (38) are completion: 9×0.3 + 48×2.5 = 122.7 µ$
    ("vertex/generate_max_tokens", vertex_json, as_recorded, "vertex", "gemini-2.5-flash", (9, 48, 0, 0, 38),
     "0.0001227"),
    # promptTokenCount includes the cached part: 4×0.3 + 5×0.03 + 48×2.5 = 1.2 + 0.15 + 120 = 121.35 µ$
    ("vertex/generate_max_tokens", vertex_json, setting(cachedContentTokenCount=5), "vertex", "gemini-2.5-flash",
     (9, 48, 5, 0, 38), "0.00012135"),
    # 13×0.3 + (15 + 40)×2.5 = 3.9 + 137.5 = 141.4 µ$
    ("vertex/stream_text", vertex_stream, as_recorded, "vertex", "gemini-2.5-flash", (13, 55, 0, 0, 40),
     "0.0001414"),
    # 5×0.3 + 8×0.03 + 137.5 = 1.5 + 0.24 + 137.5 = 139.24 µ$
    ("vertex/stream_text", vertex_stream, setting(cachedContentTokenCount=8), "vertex", "gemini-2.5-flash",
     (13, 55, 8, 0, 40), "0.00013924"),
]


@pytest.mark.parametrize(("name", "translate", "edit", "provider", "model", "counts", "cost"), CASES,
                         ids=[f"{c[0]}-{'cached' if c[2] is not as_recorded else 'recorded'}" for c in CASES])
def test_recorded_answer_costs_what_was_worked_out_by_hand(
        name: str, translate: Callable[..., dict[str, Any]], edit: Callable[[dict[str, Any]], None],
        provider: str, model: str, counts: tuple[int, int, int, int, int], cost: str) -> None:
    record = metered(provider, model, translate(fixture(name), edit))
    assert (record.prompt_tokens, record.completion_tokens, record.cached_tokens, record.cache_write_tokens,
            record.reasoning_tokens) == counts
    assert record.cost_usd == Decimal(cost)


def test_every_provider_is_covered_json_and_stream() -> None:
    kinds = {(c[0].split("/")[0], "stream" if "stream" in c[0] else "json") for c in CASES}
    assert {p for p, _ in kinds} == {"openai", "azure", "anthropic", "bedrock", "vertex"}
    assert {("anthropic", "stream"), ("bedrock", "stream"), ("vertex", "stream"), ("openai", "stream")} <= kinds


def test_cached_and_write_rates_default_to_the_input_price() -> None:
    from bonito.usage.pricing import resolve_price

    # a price set in config without cached/write rates bills every input token at that price
    price = resolve_price("openai", "gpt-4o", Decimal("2"), Decimal("8"))
    assert price.cost(1_000_000, 0, cached_tokens=500_000, cache_write_tokens=100_000) == Decimal(2)
    # set explicitly, each rate applies to its own tokens: 0.4×2 + 0.5×1 + 0.1×3 = 1.6
    price = resolve_price("openai", "gpt-4o", Decimal("2"), Decimal("8"), Decimal("1"), Decimal("3"))
    assert price.cost(1_000_000, 0, cached_tokens=500_000, cache_write_tokens=100_000) == Decimal("1.6")
    # the listed rates: gpt-4o's published cached-input price is half its input price
    listed = resolve_price("openai", "gpt-4o", None, None)
    assert (listed.input_per_mtok, listed.cached_rate, listed.write_rate) == (Decimal("2.5"), Decimal("1.25"),
                                                                             Decimal("2.5"))


def test_every_price_entry_keeps_its_source_and_date() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "bonito" / "usage" / "data" / "prices"
    cached_entries = 0
    for path in root.glob("*.json"):
        for name, entry in json.loads(path.read_text())["models"].items():
            assert entry.get("source") and entry.get("as_of"), (path.name, name)
            for rate in ("cached_input", "cache_write"):
                if rate in entry:
                    cached_entries += 1
                    assert Decimal(str(entry[rate])) >= 0, (path.name, name)
    assert cached_entries > 50
