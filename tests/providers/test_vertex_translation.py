"""Vertex (Gemini) translation checked against the real recorded exchanges.

Each fixture in ../shared/fixtures/providers/vertex is used here: the OpenAI
request that should produce its recorded request body, and the OpenAI answer
its recorded response must become. Recordings made against the Gemini
Developer API share the GenerateContent schema (see the fixtures README).
"""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonito.providers.base import UpstreamError
from bonito.providers.vertex import embed, gemini
from bonito.providers.vertex.errors import stream_error, vertex_error
from bonito.providers.vertex.streaming import StreamTranslator

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "vertex"


def fixture(name: str) -> dict[str, Any]:
    """Load one recorded exchange."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def sse_events(body_text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in body_text.splitlines() if line.startswith("data: ")]


def stream_through(events: list[dict[str, Any]], model: str = "m") -> list[dict[str, Any]]:
    tr = StreamTranslator(model)
    chunks = [c for ev in events for c in tr.feed(ev)]
    return chunks + tr.finish()


def joined_content(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


# ---------------------------------------------------------------------- text, system, params


def test_text_us_central1_v1_request_and_response() -> None:
    fx = fixture("generate_text_us_central1_v1")
    body = {"model": "gemini-2.0-flash", "messages": [{"role": "user", "content": "What is the capital of France?"}]}
    assert gemini.chat_request(body, "gemini-2.0-flash") == fx["request"]["body"]
    out = gemini.chat_response(fx["response"]["body"], "gemini-2.0-flash")
    assert out["object"] == "chat.completion"
    assert out["id"] == "chatcmpl-EmLqZ9SSD-yOm9IP2bHc6Ag"
    assert out["choices"] == [{"index": 0, "logprobs": None, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": "The capital of France is **Paris**.\n",
                                           "refusal": None}}]
    assert out["usage"] == {"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}


def test_text_system_instruction() -> None:
    fx = fixture("generate_text_system")
    body = {"messages": [{"role": "system", "content": "You are a helpful chatbot."},
                         {"role": "user", "content": "What is the capital of France?"}]}
    req = gemini.chat_request(body, "gemini-2.0-flash")
    recorded = fx["request"]["body"]
    assert req["systemInstruction"] == recorded["systemInstruction"]
    assert req["contents"] == recorded["contents"]
    assert "generationConfig" not in req  # nothing to configure (the recording sent {})
    out = gemini.chat_response(fx["response"]["body"], "gemini-2.0-flash")
    assert out["choices"][0]["message"]["content"] == "The capital of France is Paris.\n"
    assert out["usage"]["total_tokens"] == 21


def test_max_tokens_maps_to_max_output_tokens_and_length() -> None:
    fx = fixture("generate_max_tokens")
    body = {"messages": [{"role": "user", "content": "List all U.S. states."}], "max_tokens": 50}
    assert gemini.chat_request(body, "gemini-2.5-flash") == fx["request"]["body"]
    # max_completion_tokens wins over the deprecated max_tokens, like OpenAI.
    body2 = {**body, "max_completion_tokens": 20}
    assert gemini.chat_request(body2, "gemini-2.5-flash")["generationConfig"] == {"maxOutputTokens": 20}
    out = gemini.chat_response(fx["response"]["body"], "gemini-2.5-flash")
    assert out["choices"][0]["finish_reason"] == "length"
    assert out["choices"][0]["message"]["content"] == "Here is a list of all 50 U"
    # Thinking tokens are billed as output: 10 candidates + 38 thoughts.
    assert out["usage"] == {"prompt_tokens": 9, "completion_tokens": 48, "total_tokens": 57,
                            "completion_tokens_details": {"reasoning_tokens": 38}}


def test_sampling_stop_seed_penalties_and_n() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.2, "top_p": 0.9, "seed": 7,
            "stop": "END", "presence_penalty": 0.5, "frequency_penalty": 0.1, "n": 2}
    gen = gemini.chat_request(body, "gemini-2.0-flash")["generationConfig"]
    assert gen == {"temperature": 0.2, "topP": 0.9, "seed": 7, "stopSequences": ["END"],
                   "presencePenalty": 0.5, "frequencyPenalty": 0.1, "candidateCount": 2}
    body["stop"] = ["a", "b"]
    assert gemini.chat_request(body, "gemini-2.0-flash")["generationConfig"]["stopSequences"] == ["a", "b"]


def test_response_format_json_object_and_schema() -> None:
    base = {"messages": [{"role": "user", "content": "hi"}]}
    req = gemini.chat_request({**base, "response_format": {"type": "json_object"}}, "gemini-2.0-flash")
    assert req["generationConfig"] == {"responseMimeType": "application/json"}
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
              "additionalProperties": False}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
    req = gemini.chat_request({**base, "response_format": fmt}, "gemini-2.0-flash")
    assert req["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema}
    assert "generationConfig" not in gemini.chat_request({**base, "response_format": {"type": "text"}}, "g")


def test_reasoning_effort_budget_or_level_by_model_generation() -> None:
    base = {"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "low"}
    assert gemini.chat_request(base, "gemini-2.5-flash")["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 1024}}
    assert gemini.chat_request(base, "gemini-3-flash-preview")["generationConfig"] == {
        "thinkingConfig": {"thinkingLevel": "LOW"}}


def test_images_as_data_urls_and_gcs_uris() -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    body = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "gs://bucket/cat.jpg"}},
    ]}]}
    parts = gemini.chat_request(body, "gemini-2.0-flash")["contents"][0]["parts"]
    assert parts == [{"text": "What is this?"},
                     {"inlineData": {"mimeType": "image/png", "data": png}},
                     {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/cat.jpg"}}]


def test_multi_turn_keeps_roles_and_order() -> None:
    body = {"messages": [
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "two"},
        {"role": "developer", "content": "be brief"}, {"role": "user", "content": "three"}]}
    req = gemini.chat_request(body, "gemini-2.0-flash")
    assert [(c["role"], c["parts"][0]["text"]) for c in req["contents"]] == [
        ("user", "one"), ("model", "two"), ("user", "three")]
    assert req["systemInstruction"]["parts"] == [{"text": "be brief"}]


# ---------------------------------------------------------------------- tools


SECRET_TOOL: dict[str, Any] = {"type": "function", "function": {
    "name": "secret_retrieval_tool", "description": "A tool that requires a password to retrieve a secret.",
    "parameters": {"type": "object", "properties": {"password": {"title": "Password", "type": "string"}},
                   "required": ["password"]}}}


def test_parallel_function_calls() -> None:
    fx = fixture("generate_function_call_parallel")
    body = {"messages": [
        {"role": "system", "content": "Use parallel tool calling."},
        {"role": "user", "content": "Please retrieve the secrets associated with each of these passwords: "
                                    "mellon,radiance"}], "tools": [SECRET_TOOL]}
    req = gemini.chat_request(body, "gemini-2.5-flash")
    recorded = fx["request"]["body"]
    assert req["contents"] == recorded["contents"]
    assert req["systemInstruction"] == recorded["systemInstruction"]
    (decl,) = req["tools"][0]["functionDeclarations"]
    (rec_decl,) = recorded["tools"][0]["functionDeclarations"]
    assert (decl["name"], decl["description"]) == (rec_decl["name"], rec_decl["description"])
    assert decl["parametersJsonSchema"] == SECRET_TOOL["function"]["parameters"]
    assert "toolConfig" not in req

    out = gemini.chat_response(fx["response"]["body"], "gemini-2.5-flash")
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"  # Gemini says STOP
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"password": "mellon"},
                                                                        {"password": "radiance"}]
    assert {c["function"]["name"] for c in calls} == {"secret_retrieval_tool"}
    assert all(c["id"].startswith("call_") and c["type"] == "function" for c in calls)
    assert calls[0]["id"] != calls[1]["id"]
    assert out["usage"]["completion_tokens"] == 40 + 76


def test_tool_result_turn() -> None:
    fx = fixture("generate_tool_result_turn")
    params = {"additionalProperties": False, "properties": {}, "type": "object"}
    body = {"messages": [
        {"role": "user", "content": "What is the answer?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_abc", "type": "function", "function": {"name": "get_answer", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_abc", "content": '{"return_value": 42}'},
        {"role": "user", "content": "continue"}],
        "tools": [{"type": "function", "function": {"name": "get_answer", "description": "", "parameters": params}}]}
    req = gemini.chat_request(body, "gemini-2.5-flash")
    recorded = fx["request"]["body"]
    # Same turns, same functionResponse (named by the call it answers), same thought signature stand-in.
    assert req["contents"] == recorded["contents"]
    assert req["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == \
        recorded["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"]
    out = gemini.chat_response(fx["response"]["body"], "gemini-2.5-flash")
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["choices"][0]["message"]["content"].startswith("I have already provided the answer")
    assert out["usage"] == {"prompt_tokens": 19, "completion_tokens": 62, "total_tokens": 81,
                            "completion_tokens_details": {"reasoning_tokens": 35}}


def test_parallel_tool_results_form_one_turn_and_plain_results_are_wrapped() -> None:
    body = {"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "a", "arguments": '{"x": 1}'}},
            {"id": "c2", "type": "function", "function": {"name": "b", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c2", "content": "plain text"},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "[1, 2]"}]}]}
    contents = gemini.chat_request(body, "gemini-2.5-flash")["contents"]
    assert contents[1]["parts"][0] == {"functionCall": {"name": "a", "args": {"x": 1}},
                                       "thoughtSignature": gemini.SKIP_THOUGHT_SIGNATURE}
    assert "thoughtSignature" not in contents[1]["parts"][1]
    assert contents[2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "b", "response": {"output": "plain text"}}},
        {"functionResponse": {"name": "a", "response": {"output": [1, 2]}}}]}


def test_tool_choice_maps_to_function_calling_config() -> None:
    base = {"messages": [{"role": "user", "content": "hi"}], "tools": [SECRET_TOOL]}

    def config(choice: Any) -> Any:
        return gemini.chat_request({**base, "tool_choice": choice}, "g").get("toolConfig")

    assert config("auto") is None
    assert config("none") == {"functionCallingConfig": {"mode": "NONE"}}
    assert config("required") == {"functionCallingConfig": {"mode": "ANY"}}
    assert config({"type": "function", "function": {"name": "secret_retrieval_tool"}}) == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["secret_retrieval_tool"]}}


def test_unknown_tool_call_id_is_a_400() -> None:
    body = {"messages": [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "1"}]}
    with pytest.raises(UpstreamError) as err:
        gemini.chat_request(body, "g")
    assert err.value.status == 400 and "nope" in err.value.message


@pytest.mark.parametrize(("param", "value"), [
    ("logit_bias", {"1": 2}), ("parallel_tool_calls", False), ("logprobs", True), ("audio", {"voice": "x"}),
    ("functions", [{"name": "f"}]), ("modalities", ["text", "audio"]), ("store", True),
])
def test_unsupported_parameters_get_a_400_naming_them(param: str, value: Any) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "tools": [SECRET_TOOL], param: value}
    with pytest.raises(UpstreamError) as err:
        gemini.chat_request(body, "g")
    assert err.value.status == 400
    assert err.value.param == param and param in err.value.message
    assert err.value.code == "unsupported_parameter"


def test_harmless_fields_are_accepted() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "user": "u1", "n": 1, "stream": True,
            "stream_options": {"include_usage": True}, "logprobs": False, "parallel_tool_calls": True}
    assert gemini.chat_request(body, "g") == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


# ---------------------------------------------------------------------- safety


def test_model_armor_block_is_content_filter_with_empty_content() -> None:
    fx = fixture("generate_model_armor_block")
    body = {"messages": [{"role": "user", "content": fx["request"]["body"]["contents"][0]["parts"][0]["text"]}]}
    assert gemini.chat_request(body, "gemini-2.5-flash")["contents"] == fx["request"]["body"]["contents"]
    out = gemini.chat_response(fx["response"]["body"], "gemini-2.5-flash")
    assert out["choices"][0]["finish_reason"] == "content_filter"
    assert out["choices"][0]["message"]["content"] == ""
    assert out["usage"]["prompt_tokens"] == 19 and out["usage"]["completion_tokens"] == 6 + 27


def test_blocked_prompt_without_candidates() -> None:
    fx = fixture("generate_prompt_blocked")
    out = gemini.chat_response(fx["response"]["body"], "gemini-2.5-flash")
    assert out["choices"] == [{"index": 0, "logprobs": None, "finish_reason": "content_filter",
                               "message": {"role": "assistant", "content": "", "refusal": None}}]
    assert out["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    # The same answer arriving as a stream event.
    chunks = stream_through([fx["response"]["body"]])
    assert chunks[-2]["choices"][0]["finish_reason"] == "content_filter"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 0


@pytest.mark.parametrize(("raw", "tools", "expected"), [
    ("STOP", False, "stop"), ("STOP", True, "tool_calls"), ("MAX_TOKENS", False, "length"),
    ("SAFETY", False, "content_filter"), ("RECITATION", False, "content_filter"),
    ("BLOCKLIST", False, "content_filter"), ("PROHIBITED_CONTENT", False, "content_filter"),
    ("SPII", False, "content_filter"), ("MODEL_ARMOR", False, "content_filter"), (None, False, "stop"),
])
def test_finish_reason_mapping(raw: str | None, tools: bool, expected: str) -> None:
    assert gemini.finish_reason(raw, tools) == expected


# ---------------------------------------------------------------------- streams


def test_stream_text_single_event() -> None:
    fx = fixture("stream_text")
    body = {"messages": [{"role": "user", "content": "What is 4200 + 42?"}]}
    assert gemini.chat_request(body, "gemini-2.5-flash") == fx["request"]["body"]
    chunks = stream_through(sse_events(fx["response"]["body_text"]), "gemini-2.5-flash")
    assert chunks[0]["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert joined_content(chunks) == "4200 + 42 = **4242**"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 13, "completion_tokens": 55, "total_tokens": 68,
                                   "completion_tokens_details": {"reasoning_tokens": 40}}
    assert len({c["id"] for c in chunks}) == 1


def test_stream_thinking_model_usage() -> None:
    fx = fixture("stream_text_flex")
    chunks = stream_through(sse_events(fx["response"]["body_text"]), "gemini-3-flash-preview")
    assert joined_content(chunks) == "OK"
    assert chunks[-1]["usage"]["completion_tokens"] == 101
    assert chunks[-1]["usage"]["total_tokens"] == 106


def test_stream_usage_is_cumulative_and_tool_calls_are_indexed() -> None:
    events = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Let me "}]}}],
         "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2}},
        {"candidates": [{"content": {"role": "model", "parts": [
            {"text": "check."}, {"functionCall": {"name": "a", "args": {"q": 1}}}]}}],
         "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6}},
        {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "b", "args": {}}}]},
                         "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 9}},
    ]
    chunks = stream_through(events)
    calls = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])]
    assert [(tc["index"], tc["function"]["name"], tc["function"]["arguments"]) for tc in calls] == [
        (0, "a", '{"q":1}'), (1, "b", "{}")]
    assert joined_content(chunks) == "Let me check."
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}


def test_stream_as_text_completion_chunks() -> None:
    tr = StreamTranslator("m", text_completion=True)
    chunks = tr.feed({"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "MAX_TOKENS"}]})
    chunks += tr.finish()
    assert all(c["object"] == "text_completion" for c in chunks)
    assert [c["choices"][0]["text"] for c in chunks[:-1]] == ["Hi", ""]
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"


# ---------------------------------------------------------------------- completions


def test_completions_prompt_becomes_a_user_turn_and_answer_is_text_completion() -> None:
    req = gemini.completion_request({"prompt": "Say hi", "max_tokens": 5, "echo": False}, "g")
    assert req == {"contents": [{"role": "user", "parts": [{"text": "Say hi"}]}],
                   "generationConfig": {"maxOutputTokens": 5}}
    fx = fixture("generate_text_us_central1_v1")
    out = gemini.text_completion(gemini.chat_response(fx["response"]["body"], "gemini-2.0-flash"))
    assert out["object"] == "text_completion" and out["id"].startswith("cmpl-")
    assert out["choices"] == [{"text": "The capital of France is **Paris**.\n", "index": 0, "logprobs": None,
                               "finish_reason": "stop"}]
    with pytest.raises(UpstreamError) as err:
        gemini.completion_request({"prompt": "x", "suffix": "y"}, "g")
    assert err.value.param == "suffix"


# ---------------------------------------------------------------------- embeddings


def test_predict_embeddings() -> None:
    fx = fixture("predict_embed_gemini_embedding_001")
    assert not embed.uses_embed_content("gemini-embedding-001")
    texts = embed.embedding_inputs({"input": "Hello, world!", "model": "gemini-embedding-001"})
    req = embed.predict_request(texts, None)
    assert [i["content"] for i in req["instances"]] == [i["content"] for i in fx["request"]["body"]["instances"]]
    assert embed.predict_request(texts, 256)["parameters"] == {"outputDimensionality": 256}
    vectors, tokens = embed.parse_predict(fx["response"]["body"])
    assert len(vectors) == 1 and len(vectors[0]) == 3072 and tokens == 4
    out = embed.embeddings_response(vectors, tokens, "gemini-embedding-001", "base64")
    raw = base64.b64decode(out["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert decoded == pytest.approx(vectors[0], rel=1e-6)
    assert out["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert embed.predict_batches("gemini-embedding-001", ["a", "b"]) == [["a"], ["b"]]
    assert embed.predict_batches("text-embedding-005", ["a", "b"]) == [["a", "b"]]


def test_embed_content_embeddings() -> None:
    fx = fixture("embed_content_gemini_embedding_2")
    assert embed.uses_embed_content("gemini-embedding-2")
    text = fx["request"]["body"]["content"]["parts"][0]["text"]
    assert embed.embed_content_request(text, None) == fx["request"]["body"]
    assert embed.embed_content_request(text, 128)["outputDimensionality"] == 128
    vector, tokens = embed.parse_embed_content(fx["response"]["body"])
    assert len(vector) == 3072 and tokens == 11
    out = embed.embeddings_response([vector], tokens, "gemini-embedding-2", None)
    assert out["object"] == "list" and out["data"][0]["object"] == "embedding"
    assert out["data"][0]["embedding"][:2] == [-0.006532297, 0.020047152]


def test_embedding_inputs_reject_token_arrays_and_unknown_params() -> None:
    with pytest.raises(UpstreamError) as err:
        embed.embedding_inputs({"input": [[1, 2, 3]]})
    assert err.value.status == 400 and err.value.param == "input"
    with pytest.raises(UpstreamError) as err:
        embed.embedding_inputs({"input": "x", "input_type": "query"})
    assert err.value.param == "input_type"


# ---------------------------------------------------------------------- errors and OAuth


def test_error_404_model() -> None:
    fx = fixture("generate_error_404_model")
    resp = fx["response"]
    exc = vertex_error(resp["status"], resp["headers"], orjson.dumps(resp["body"]))
    assert exc.status == 404 and exc.code == "model_not_found" and exc.type == "invalid_request_error"
    assert "is not found" in exc.message
    assert exc.client_caused and not exc.transient
    assert exc.body == {"error": {"message": exc.message, "type": "invalid_request_error", "param": None,
                                  "code": "model_not_found"}}


@pytest.mark.parametrize(("rpc", "status"), [
    ("INVALID_ARGUMENT", 400), ("UNAUTHENTICATED", 401), ("PERMISSION_DENIED", 403), ("NOT_FOUND", 404),
    ("RESOURCE_EXHAUSTED", 429), ("UNAVAILABLE", 503), ("DEADLINE_EXCEEDED", 504), ("INTERNAL", 500),
])
def test_rpc_status_mapping(rpc: str, status: int) -> None:
    # Built from Google's documented google.rpc envelope (no 429/401 recording exists).
    body = orjson.dumps({"error": {"code": status, "message": "m", "status": rpc}})
    assert vertex_error(status, {}, body).status == status


def test_resource_exhausted_retry_info_and_stream_errors() -> None:
    body = orjson.dumps({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",
                                   "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                "retryDelay": "12s"}]}})
    exc = vertex_error(429, {}, body)
    assert exc.transient and exc.retry_after_s == 12.0 and exc.type == "rate_limit_exceeded"
    assert vertex_error(429, {"retry-after": "3"}, body).retry_after_s == 3.0
    mid = stream_error({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})
    assert mid.kind == "stream" and mid.status == 503 and mid.transient
    assert vertex_error(502, {}, b"<html>bad gateway</html>").status == 502


def test_oauth_token_exchange_shape() -> None:
    # The exchange itself runs against the fake (test_vertex_auth.py); here: what it must look like.
    fx = fixture("oauth2_token_jwt_bearer")
    from urllib.parse import parse_qs

    form = parse_qs(fx["request"]["body_text"])
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert set(fx["response"]["body"]) == {"access_token", "expires_in", "token_type"}


def test_every_vertex_fixture_is_exercised() -> None:
    # A new recording must get a test: every file on disk is loaded by some test above.
    used = set(re.findall(r'fixture\("([a-z0-9_]+)"\)', Path(__file__).read_text()))
    on_disk = {p.stem for p in FIXTURES.glob("*.json")}
    assert on_disk, f"no fixtures found under {FIXTURES}"
    assert on_disk <= used, f"fixtures without a translation test: {sorted(on_disk - used)}"
