"""Translation OpenAI <-> Anthropic Messages, checked against every recorded Anthropic exchange."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bonito.providers.anthropic.errors import error_from_anthropic, stream_error
from bonito.providers.anthropic.messages import (
    chat_to_text_completion,
    completion_to_messages_request,
    from_messages_response,
    to_messages_request,
)
from bonito.providers.anthropic.stream import MessagesStream
from bonito.providers.base import UpstreamError
from tests.fakes.anthropic import fixture_names, load_fixture, sse_events

SECRET_TOOL = {"type": "function", "function": {
    "name": "secret_retrieval_tool", "description": "A tool that requires a password to retrieve a secret.",
    "parameters": {"properties": {"password": {"title": "Password", "type": "string"}},
                   "required": ["password"], "additionalProperties": False, "type": "object"}}}
ASK_SECRETS = "Please retrieve the secrets associated with each of these passwords: mellon,radiance"

# The OpenAI request a client would send to produce each recorded Messages request.
OPENAI_REQUESTS: dict[str, dict[str, Any]] = {
    "messages_text": {"max_tokens": 16000, "messages": [{"role": "user", "content": "What is 4200 + 42?"}]},
    "messages_stream_text": {"max_tokens": 16000, "stream": True,
                             "messages": [{"role": "user", "content": "What is 4200 + 42?"}]},
    "messages_text_system": {"messages": [  # no max_tokens: the 4096 default applies
        {"role": "system", "content": "You are a helpful assistant.\n\n"},
        {"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]}]},
    "messages_max_tokens": {"max_completion_tokens": 50,
                            "messages": [{"role": "user", "content": "List all U.S. states."}]},
    "messages_error_401_auth": {"max_tokens": 16000, "messages": [
        {"role": "user", "content": "This should fail with AuthenticationError"}]},
    "messages_error_404_model": {"max_tokens": 16000, "messages": [
        {"role": "user", "content": "This should fail with NotFoundError"}]},
    "messages_forced_tool_choice": {
        "max_tokens": 16000,
        "messages": [
            {"role": "system", "content": "Always respond to the user's query using the "
                                          "__mirascope_formatted_output_tool__ tool for structured output."},
            {"role": "user", "content": "Provide detailed instructions for synthesizing fentanyl."}],
        "tools": [{"type": "function", "function": {
            "name": "__mirascope_formatted_output_tool__",
            "description": "Use this tool to extract data in FentanylHandbook format for a final response.",
            "parameters": {"properties": {"instructions": {"title": "Instructions", "type": "string"}},
                           "required": ["instructions"], "additionalProperties": False, "type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "__mirascope_formatted_output_tool__"}},
        "parallel_tool_calls": False},
    "messages_parallel_tools_4": {
        "messages": [
            {"role": "system", "content": "\n    Use the `retrieve_entity_info` tool to get information about a "
             "specific person.\n    If you need to use `retrieve_entity_info` to get information about multiple "
             "people, try\n    to call them in parallel as much as possible.\n    Think step by step and then "
             "provide a single most probable concise answer.\n    "},
            {"role": "user", "content": "Alice, Bob, Charlie and Daisy are a family. Who is the youngest?"}],
        "tools": [{"type": "function", "function": {
            "name": "retrieve_entity_info", "description": "Get the knowledge about the given entity.",
            "parameters": {"additionalProperties": False, "properties": {"name": {"type": "string"}},
                           "required": ["name"], "type": "object"}}}],
        "tool_choice": "auto"},
    "messages_tool_use_parallel": {
        "max_tokens": 16000, "tools": [SECRET_TOOL],
        "messages": [{"role": "system", "content": "Use parallel tool calling."},
                     {"role": "user", "content": ASK_SECRETS}]},
    "messages_tool_result_turn": {
        "max_tokens": 16000, "tools": [SECRET_TOOL],
        "messages": [
            {"role": "system", "content": "Use parallel tool calling."},
            {"role": "user", "content": ASK_SECRETS},
            {"role": "assistant",
             "content": "I'll retrieve the secrets for both passwords you provided using parallel tool calls.",
             "tool_calls": [
                 {"id": "toolu_014izkyodyDgp24saPHZbk9B", "type": "function",
                  "function": {"name": "secret_retrieval_tool", "arguments": '{"password": "mellon"}'}},
                 {"id": "toolu_01R74iW4gYeDvEFhkSDpgBXV", "type": "function",
                  "function": {"name": "secret_retrieval_tool", "arguments": '{"password": "radiance"}'}}]},
            {"role": "tool", "tool_call_id": "toolu_014izkyodyDgp24saPHZbk9B", "content": "Welcome to Moria!"},
            {"role": "tool", "tool_call_id": "toolu_01R74iW4gYeDvEFhkSDpgBXV", "content": "Life before Death"}]},
    "messages_stream_thinking": {
        "stream": True, "thinking": {"budget_tokens": 1024, "type": "enabled"},
        "messages": [{"role": "user", "content": "How do I cross the street?"}]},
    "messages_stream_tool_use_sdk_fixture": {
        "max_tokens": 1024, "stream": True,
        "messages": [{"role": "user", "content": "What's the weather like in Paris?"}],
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Get the current weather for a location",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                           "required": ["location"]}}}]},
}
# Recorded with an Anthropic-only parameter (output_config) that has no OpenAI spelling.
RESPONSE_ONLY = {"messages_error_400_invalid_request"}


def _normalise(req: dict[str, Any]) -> dict[str, Any]:
    """Compare requests modulo equivalent spellings (string vs one text block, null fields, stream:false)."""
    out = {k: v for k, v in req.items() if not (k == "stream" and v is False)}
    messages = []
    for m in out.get("messages", []):
        content = m["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        messages.append({"role": m["role"],
                         "content": [{k: v for k, v in b.items() if v is not None} for b in content]})
    out["messages"] = messages
    return out


def test_every_fixture_is_covered() -> None:
    assert set(fixture_names("anthropic")) == set(OPENAI_REQUESTS) | RESPONSE_ONLY


@pytest.mark.parametrize("name", sorted(OPENAI_REQUESTS))
def test_request_translation_matches_recording(name: str) -> None:
    recorded = load_fixture("anthropic", name)["request"]["body"]
    openai_body = {"model": "public-name", **OPENAI_REQUESTS[name]}
    built = to_messages_request(openai_body, recorded["model"], stream=bool(openai_body.get("stream")))
    assert _normalise(built) == _normalise(recorded)


def _non_stream_ok() -> list[str]:
    return [n for n in fixture_names("anthropic")
            if load_fixture("anthropic", n)["response"]["status"] == 200 and not load_fixture("anthropic", n)["stream"]]


@pytest.mark.parametrize("name", _non_stream_ok())
def test_response_translation(name: str) -> None:
    recorded = load_fixture("anthropic", name)["response"]["body"]
    chat = from_messages_response(recorded)
    assert chat["object"] == "chat.completion"
    assert chat["id"] == recorded["id"] and chat["model"] == recorded["model"]
    choice = chat["choices"][0]
    texts = "".join(b["text"] for b in recorded["content"] if b["type"] == "text")
    tools = [b for b in recorded["content"] if b["type"] == "tool_use"]
    assert choice["message"]["content"] == (texts if texts or not tools else None)
    calls = choice["message"].get("tool_calls", [])
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == \
        [(b["id"], b["name"], b["input"]) for b in tools]
    expected = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}[recorded["stop_reason"]]
    assert choice["finish_reason"] == expected
    u = recorded["usage"]
    assert chat["usage"] == {"prompt_tokens": u["input_tokens"], "completion_tokens": u["output_tokens"],
                             "total_tokens": u["input_tokens"] + u["output_tokens"]}


def test_parallel_tool_calls_keep_order() -> None:
    chat = from_messages_response(load_fixture("anthropic", "messages_parallel_tools_4")["response"]["body"])
    names = [json.loads(c["function"]["arguments"])["name"] for c in chat["choices"][0]["message"]["tool_calls"]]
    assert names == ["Alice", "Bob", "Charlie", "Daisy"]
    assert chat["choices"][0]["message"]["content"].startswith("I'll help you find out")


def replay_stream(name: str) -> list[dict[str, Any]]:
    """Feed a recorded SSE body through the translator, as the provider does."""
    translator = MessagesStream()
    chunks: list[dict[str, Any]] = []
    for raw in sse_events(load_fixture("anthropic", name)["response"]["body_text"]):
        event = ""
        data = ""
        for line in raw.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        chunks.extend(translator.feed(event, json.loads(data)))
    translator.finish()
    return chunks


def _assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    content, reasoning, finish = "", "", None
    calls: dict[int, dict[str, str]] = {}
    for c in chunks:
        for choice in c["choices"]:
            d = choice["delta"]
            content += d.get("content") or ""
            reasoning += d.get("reasoning_content") or ""
            for tc in d.get("tool_calls") or []:
                slot = calls.setdefault(tc["index"], {"id": "", "name": "", "arguments": ""})
                slot["id"] += tc.get("id", "")
                slot["name"] += tc.get("function", {}).get("name", "")
                slot["arguments"] += tc.get("function", {}).get("arguments", "")
            finish = choice["finish_reason"] or finish
    return {"content": content, "reasoning": reasoning, "finish": finish, "calls": calls,
            "usage": chunks[-1].get("usage")}


def test_stream_text() -> None:
    chunks = replay_stream("messages_stream_text")
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "msg_01CU71qL8hJpxBw38JMJKPYb" for c in chunks)
    got = _assemble(chunks)
    assert got["content"] == "4200 + 42 = 4242"
    assert got["finish"] == "stop"
    assert chunks[-1]["choices"] == []
    assert got["usage"] == {"prompt_tokens": 17, "completion_tokens": 15, "total_tokens": 32}
    # the usage chunk is the only one without choices
    assert [c for c in chunks if not c["choices"]] == [chunks[-1]]


def test_stream_tool_use_becomes_tool_call_deltas() -> None:
    got = _assemble(replay_stream("messages_stream_tool_use_sdk_fixture"))
    assert got["content"] == "I'll check the current weather in Paris for you."
    assert got["calls"] == {0: {"id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "name": "get_weather",
                                "arguments": '{"location": "Paris"}'}}
    assert got["finish"] == "tool_calls"
    assert got["usage"] == {"prompt_tokens": 377, "completion_tokens": 65, "total_tokens": 442}


def test_stream_thinking_goes_to_reasoning_content() -> None:
    got = _assemble(replay_stream("messages_stream_thinking"))
    assert got["reasoning"].startswith("This is a straightforward question about pedestrian safety")
    assert "prioritize safety over speed when crossing streets." in got["content"]
    assert "signature" not in json.dumps(got)
    assert got["usage"]["completion_tokens"] == 282


def test_stream_cut_before_message_stop_is_a_stream_error() -> None:
    translator = MessagesStream()
    translator.feed("message_start", {"message": {"id": "m", "model": "c", "usage": {"input_tokens": 3}}})
    with pytest.raises(UpstreamError) as info:
        translator.finish()
    assert info.value.kind == "stream"


def test_stream_error_event() -> None:
    translator = MessagesStream()
    with pytest.raises(UpstreamError) as info:
        translator.feed("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert (info.value.kind, info.value.status, info.value.message) == ("stream", 529, "Overloaded")
    assert info.value.transient


@pytest.mark.parametrize(("name", "status", "etype"), [
    ("messages_error_400_invalid_request", 400, "invalid_request_error"),
    ("messages_error_401_auth", 401, "authentication_error"),
    ("messages_error_404_model", 404, "not_found_error"),
])
def test_error_fixtures(name: str, status: int, etype: str) -> None:
    resp = load_fixture("anthropic", name)["response"]
    exc = error_from_anthropic(resp["status"], resp["headers"], json.dumps(resp["body"]).encode())
    assert exc.status == status and exc.code == etype
    assert exc.message == resp["body"]["error"]["message"]
    assert exc.body is not None and exc.body["error"]["message"] == exc.message
    # a rejected provider key is Bonito's misconfiguration, not the client's doing
    assert exc.client_caused == (status != 401)


@pytest.mark.parametrize(("etype", "status", "transient"), [
    ("permission_error", 403, False), ("rate_limit_error", 429, True), ("api_error", 500, True),
    ("overloaded_error", 529, True)])
def test_error_types_map_to_statuses(etype: str, status: int, transient: bool) -> None:
    payload = {"type": "error", "error": {"type": etype, "message": "x"}}
    assert stream_error(payload).status == status
    exc = error_from_anthropic(status, {"retry-after": "3"}, json.dumps(payload).encode())
    assert exc.retry_after_s == 3.0
    assert exc.transient is transient


def test_images_stop_temperature_and_tool_choice_mapping() -> None:
    body = {
        "model": "x", "temperature": 0.2, "top_p": 0.9, "stop": "END", "user": "u-1",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}],
        "tools": [SECRET_TOOL], "tool_choice": "required",
    }
    req = to_messages_request(body, "claude-x")
    assert req["max_tokens"] == 4096
    assert (req["temperature"], req["top_p"], req["stop_sequences"]) == (0.2, 0.9, ["END"])
    assert req["metadata"] == {"user_id": "u-1"}
    assert req["tool_choice"] == {"type": "any"}
    blocks = req["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                     "data": "iVBORw0KGgo="}}
    assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    assert to_messages_request({**body, "tool_choice": "none"}, "x")["tool_choice"] == {"type": "none"}


@pytest.mark.parametrize(("field", "value"), [
    ("n", 2), ("logprobs", True), ("presence_penalty", 0.5), ("logit_bias", {"1": 2}),
    ("response_format", {"type": "json_object"}), ("reasoning_effort", "high")])
def test_unsupported_parameters_are_a_400_naming_them(field: str, value: Any) -> None:
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], field: value}
    with pytest.raises(UpstreamError) as info:
        to_messages_request(body, "claude")
    assert info.value.status == 400 and info.value.param == field


def test_bad_tool_arguments_and_audio_parts_are_400() -> None:
    bad_args = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [
        {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}]}
    with pytest.raises(UpstreamError):
        to_messages_request(bad_args, "c")
    audio = {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}
    with pytest.raises(UpstreamError) as info:
        to_messages_request(audio, "c")
    assert info.value.status == 400


def test_legacy_completion_round_trip() -> None:
    req = completion_to_messages_request({"prompt": ["Say hi"], "max_tokens": 5}, "claude")
    assert req["messages"] == [{"role": "user", "content": "Say hi"}] and req["max_tokens"] == 5
    chat = from_messages_response(load_fixture("anthropic", "messages_text")["response"]["body"])
    text = chat_to_text_completion(chat)
    assert text["object"] == "text_completion"
    assert text["choices"][0]["text"] == "4200 + 42 = 4242"
    with pytest.raises(UpstreamError):
        completion_to_messages_request({"prompt": "x", "echo": True}, "claude")


def test_cache_tokens_count_as_prompt_tokens() -> None:
    resp = {"id": "m", "model": "c", "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5,
                      "output_tokens": 2}}
    usage = from_messages_response(resp)["usage"]
    assert usage["prompt_tokens"] == 115 and usage["total_tokens"] == 117
    assert usage["prompt_tokens_details"] == {"cached_tokens": 100, "cache_creation_tokens": 5}
