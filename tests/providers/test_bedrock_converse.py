"""OpenAI <-> Converse translation, checked against every recorded Bedrock Converse exchange."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from bonito.providers.base import UpstreamError
from bonito.providers.bedrock.converse import chat_to_converse, completion_to_converse
from bonito.providers.bedrock.converse_response import chat_to_text_completion, converse_to_chat

BEDROCK = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "bedrock"
ALL = sorted(p.stem for p in BEDROCK.glob("*.json"))
CONVERSE = [n for n in ALL if n.startswith("converse")]
CONVERSE_200 = [n for n in CONVERSE if "error" not in n and "stream" not in n]


def fixture(name: str) -> dict[str, Any]:
    return json.loads((BEDROCK / f"{name}.json").read_text())  # type: ignore[no-any-return]


def openai_request_for(converse: dict[str, Any]) -> dict[str, Any]:
    """What an OpenAI client sends to mean the same as a recorded Converse request."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": s["text"]} for s in converse.get("system", [])]
    for m in converse["messages"]:
        if m["role"] == "user":
            for c in m["content"]:
                if "toolResult" in c:
                    r = c["toolResult"]
                    messages.append({"role": "tool", "tool_call_id": r["toolUseId"],
                                     "content": "".join(x["text"] for x in r["content"])})
                else:
                    messages.append({"role": "user", "content": c["text"]})
        else:
            texts = [c["text"] for c in m["content"] if "text" in c]
            calls = [{"id": c["toolUse"]["toolUseId"], "type": "function",
                      "function": {"name": c["toolUse"]["name"], "arguments": json.dumps(c["toolUse"]["input"])}}
                     for c in m["content"] if "toolUse" in c]
            msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
            if calls:
                msg["tool_calls"] = calls
            messages.append(msg)
    req: dict[str, Any] = {"model": "x", "messages": messages}
    inf = converse.get("inferenceConfig", {})
    for ours, theirs in (("max_tokens", "maxTokens"), ("temperature", "temperature"), ("top_p", "topP")):
        if theirs in inf:
            req[ours] = inf[theirs]
    tc = converse.get("toolConfig")
    if tc:
        req["tools"] = []
        for t in tc["tools"]:
            spec = t["toolSpec"]
            fn: dict[str, Any] = {"name": spec["name"], "parameters": spec["inputSchema"]["json"]}
            if "description" in spec:
                fn["description"] = spec["description"]
            if "strict" in spec:
                fn["strict"] = spec["strict"]
            req["tools"].append({"type": "function", "function": fn})
        choice = tc.get("toolChoice")
        if choice is not None:
            req["tool_choice"] = ("auto" if "auto" in choice else "required" if "any" in choice
                                  else {"type": "function", "function": {"name": choice["tool"]["name"]}})
    if "additionalModelRequestFields" in converse:
        req["additionalModelRequestFields"] = converse["additionalModelRequestFields"]
    return req


def normalized(converse: dict[str, Any]) -> dict[str, Any]:
    """The recorded body minus what carries no meaning (empty system/inferenceConfig, toolResult status)."""
    out = {k: v for k, v in converse.items() if v not in ([], {})}
    out["messages"] = [
        {"role": m["role"], "content": [
            {"toolResult": {k: v for k, v in c["toolResult"].items() if k != "status"}} if "toolResult" in c else c
            for c in m["content"]]}
        for m in converse["messages"]]
    return out


@pytest.mark.parametrize("name", CONVERSE)
def test_request_translation_matches_the_recording(name: str) -> None:
    recorded = fixture(name)["request"]["body"]
    assert chat_to_converse(openai_request_for(recorded)).body == normalized(recorded)


def test_parallel_tool_calls_and_results_become_one_assistant_and_one_user_turn() -> None:
    req = {
        "model": "amazon.nova-micro-v1:0", "max_tokens": 4096,
        "messages": [
            {"role": "system", "content": "Use parallel tool calling."},
            {"role": "user", "content": "Please retrieve the secrets associated with each of these passwords: "
                                        "mellon,radiance"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "tooluse_nz0CoSg6TyuVDvWTCaatSw", "type": "function",
                 "function": {"name": "secret_retrieval_tool", "arguments": '{"password": "mellon"}'}},
                {"id": "tooluse_KBNwKhm1RwK4iTLuHbyOtg", "type": "function",
                 "function": {"name": "secret_retrieval_tool", "arguments": '{"password": "radiance"}'}}]},
            {"role": "tool", "tool_call_id": "tooluse_nz0CoSg6TyuVDvWTCaatSw", "content": "Welcome to Moria!"},
            {"role": "tool", "tool_call_id": "tooluse_KBNwKhm1RwK4iTLuHbyOtg", "content": "Life before Death"},
        ],
        "tools": [{"type": "function", "function": {
            "name": "secret_retrieval_tool", "description": "A tool that requires a password to retrieve a secret.",
            "parameters": {"properties": {"password": {"title": "Password", "type": "string"}},
                           "required": ["password"], "additionalProperties": False, "type": "object"}}}],
    }
    body = chat_to_converse(req).body
    recorded = fixture("converse_multi_turn_nova")["request"]["body"]
    assert body["toolConfig"] == recorded["toolConfig"]
    assert body["messages"][2] == recorded["messages"][2]  # both results in one user turn, in order
    assert [b["toolUse"] for b in body["messages"][1]["content"]] == [
        b["toolUse"] for b in recorded["messages"][1]["content"] if "toolUse" in b]


def test_stop_max_completion_tokens_temperature_and_top_p() -> None:
    body = chat_to_converse({"messages": [{"role": "user", "content": "hi"}], "stop": ["\n\n", "END"],
                             "max_completion_tokens": 50, "max_tokens": 9, "temperature": 0.2, "top_p": 0.9,
                             "n": 1, "user": "u1", "stream_options": {"include_usage": True}}).body
    assert body["inferenceConfig"] == {"maxTokens": 50, "temperature": 0.2, "topP": 0.9,
                                       "stopSequences": ["\n\n", "END"]}
    assert chat_to_converse({"messages": [{"role": "user", "content": "hi"}], "stop": "x"}
                            ).body["inferenceConfig"] == {"stopSequences": ["x"]}


def test_images_as_data_urls_become_image_blocks() -> None:
    req = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,/9j/4AAQ"}}]}]}
    assert chat_to_converse(req).body["messages"][0]["content"] == [
        {"text": "what is this?"}, {"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}}]


@pytest.mark.parametrize("extra, param", [
    ({"seed": 7}, "seed"),
    ({"n": 2}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"parallel_tool_calls": False}, "parallel_tool_calls"),
    ({"frequency_penalty": 0.5}, "frequency_penalty"),
    ({"audio": {"voice": "alloy"}}, "audio"),
    ({"response_format": {"type": "grammar"}}, "response_format"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "https://example.com/cat.png"}}]}]}, "messages[0].content[0].image_url"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
     "messages[0].content[0]"),
])
def test_unsupported_parameters_are_a_400_naming_the_parameter(extra: dict[str, Any], param: str) -> None:
    req = {"messages": [{"role": "user", "content": "hi"}], **extra}
    with pytest.raises(UpstreamError) as err:
        chat_to_converse(req)
    assert err.value.status == 400 and err.value.param == param and err.value.client_caused
    assert param.split("[")[0] in err.value.message


def test_neutral_values_of_unsupported_parameters_are_accepted() -> None:
    chat_to_converse({"messages": [{"role": "user", "content": "hi"}], "n": 1, "presence_penalty": 0,
                      "logprobs": False, "parallel_tool_calls": True, "seed": None, "user": "x", "store": False})


TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize("choice, expected", [
    ("auto", {"auto": {}}),
    ("required", {"any": {}}),
    ({"type": "function", "function": {"name": "get_weather"}}, {"tool": {"name": "get_weather"}}),
])
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    body = chat_to_converse({"messages": [{"role": "user", "content": "hi"}], "tools": TOOLS,
                             "tool_choice": choice}).body
    assert body["toolConfig"]["toolChoice"] == expected


def test_tool_choice_none_drops_tools_or_refuses_once_tools_were_used() -> None:
    fresh = chat_to_converse({"messages": [{"role": "user", "content": "hi"}], "tools": TOOLS, "tool_choice": "none"})
    assert "toolConfig" not in fresh.body
    history = [{"role": "user", "content": "hi"},
               {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                     "function": {"name": "get_weather", "arguments": "{}"}}]},
               {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]
    with pytest.raises(UpstreamError) as err:
        chat_to_converse({"messages": history, "tools": TOOLS, "tool_choice": "none"})
    assert err.value.status == 400 and err.value.param == "tool_choice"


def test_json_schema_response_format_rides_on_a_forced_tool_and_comes_back_as_content() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    req = chat_to_converse({"messages": [{"role": "user", "content": "capital of France?"}],
                            "response_format": {"type": "json_schema",
                                                "json_schema": {"name": "answer", "schema": schema}}})
    tool = req.body["toolConfig"]
    assert tool["toolChoice"] == {"tool": {"name": req.json_tool}}
    assert tool["tools"][0]["toolSpec"]["inputSchema"] == {"json": schema}
    answer = {"output": {"message": {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "t1", "name": req.json_tool, "input": {"city": "Paris"}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}}
    out = converse_to_chat(answer, "m", json_tool=req.json_tool)
    choice = out["choices"][0]
    assert orjson.loads(choice["message"]["content"]) == {"city": "Paris"}
    assert choice["finish_reason"] == "stop" and "tool_calls" not in choice["message"]
    with pytest.raises(UpstreamError) as err:
        chat_to_converse({"messages": [{"role": "user", "content": "x"}], "tools": TOOLS,
                          "response_format": {"type": "json_object"}})
    assert err.value.param == "response_format"


# --- responses -----------------------------------------------------------------------------------

EXPECTED_FINISH = {
    "converse_content_filtered": "content_filter",
    "converse_max_tokens_length": "length",
    "converse_multi_turn_nova": "stop",
    "converse_text_system_nova": "stop",
    "converse_text_system_nova_pro": "stop",
    "converse_tool_result_turn_claude": "stop",
    "converse_tool_use_claude": "tool_calls",
    "converse_top_p": "stop",
}


@pytest.mark.parametrize("name", CONVERSE_200)
def test_response_translation(name: str) -> None:
    resp = fixture(name)["response"]["body"]
    out = converse_to_chat(resp, "upstream-id", request_id="43b2280c-4822")
    assert out["object"] == "chat.completion" and out["model"] == "upstream-id"
    assert out["id"] == "chatcmpl-43b2280c4822"
    choice = out["choices"][0]
    assert choice["finish_reason"] == EXPECTED_FINISH[name]
    texts = "".join(c.get("text", "") for c in resp["output"]["message"]["content"])
    assert choice["message"]["content"] == (texts or None)
    u = resp["usage"]
    assert out["usage"]["prompt_tokens"] == u["inputTokens"]
    assert out["usage"]["completion_tokens"] == u["outputTokens"]
    assert out["usage"]["total_tokens"] == u["totalTokens"]


def test_tool_use_response_becomes_tool_calls() -> None:
    out = converse_to_chat(fixture("converse_tool_use_claude")["response"]["body"], "m")
    msg = out["choices"][0]["message"]
    assert msg["content"] is None
    assert msg["tool_calls"] == [{"id": "tooluse_8ZVLMmsdearTDSS0unN07z", "type": "function",
                                  "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    assert out["usage"] == {"prompt_tokens": 560, "completion_tokens": 53, "total_tokens": 613}


def test_completions_prompt_becomes_one_user_message_and_answers_text_completion() -> None:
    req = completion_to_converse({"model": "m", "prompt": ["What is the capital of France?"], "max_tokens": 5})
    assert req.body == {"messages": [{"role": "user", "content": [{"text": "What is the capital of France?"}]}],
                        "inferenceConfig": {"maxTokens": 5}}
    chat = converse_to_chat(fixture("converse_max_tokens_length")["response"]["body"], "m")
    out = chat_to_text_completion(chat)
    assert out["object"] == "text_completion" and out["id"].startswith("cmpl-")
    assert out["choices"][0] == {"index": 0, "text": "The capital of France is", "logprobs": None,
                                 "finish_reason": "length"}
    for bad in ({"prompt": ["a", "b"]}, {"prompt": "a", "echo": True}, {"prompt": "a", "suffix": "z"}):
        with pytest.raises(UpstreamError):
            completion_to_converse(bad)
