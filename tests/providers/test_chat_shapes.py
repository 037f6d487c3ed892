"""Malformed OpenAI chat fields sent to a translating provider get a 400 naming the field, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bonito.providers.anthropic.messages import to_messages_request
from bonito.providers.base import UpstreamError
from bonito.providers.bedrock.converse import chat_to_converse, completion_to_converse
from bonito.providers.vertex.gemini import chat_request

HI = [{"role": "user", "content": "hi"}]
TRANSLATORS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "bedrock": chat_to_converse,
    "vertex": lambda body: chat_request(body, "gemini-2.0-flash"),
    "anthropic": lambda body: to_messages_request(body, "claude-3-5-haiku"),
}
BAD: list[tuple[dict[str, Any], str]] = [
    ({"stop": 3}, "stop"),
    ({"stop": [1, 2]}, "stop"),
    ({"tools": True}, "tools"),
    ({"tools": [{"type": "function", "function": 3}]}, "tools[0]"),
    ({"response_format": {"type": "json_schema", "json_schema": 3}}, "response_format.json_schema"),
    ({"messages": [*HI, {"role": "assistant", "content": None, "tool_calls": 3}]}, "messages[1].tool_calls"),
    ({"messages": [*HI, {"role": "assistant", "content": None,
                         "tool_calls": [{"id": "c1", "type": "function", "function": "f"}]}]},
     "messages[1].tool_calls[0]"),
]


@pytest.mark.parametrize("provider", list(TRANSLATORS))
@pytest.mark.parametrize(("fields", "param"), BAD, ids=[p for _, p in BAD])
def test_a_malformed_field_is_a_400_naming_it(provider: str, fields: dict[str, Any], param: str) -> None:
    with pytest.raises(UpstreamError) as err:
        TRANSLATORS[provider]({"model": "m", "messages": HI, **fields})
    assert (err.value.status, err.value.param, err.value.client_caused) == (400, param, True)
    assert param in err.value.message


def test_a_legacy_completion_with_a_malformed_stop_is_a_400() -> None:
    with pytest.raises(UpstreamError) as err:
        completion_to_converse({"model": "m", "prompt": "hi", "stop": 3})
    assert (err.value.status, err.value.param) == (400, "stop")


@pytest.mark.parametrize("provider", list(TRANSLATORS))
def test_well_formed_fields_still_translate(provider: str) -> None:
    TRANSLATORS[provider]({"model": "m", "messages": HI, "stop": ["\n\n"], "tools": [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]})
