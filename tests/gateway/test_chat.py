"""Chat completions through the real server with the official openai SDK."""

from __future__ import annotations

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.configs import KEY
from tests.support.server import BonitoServer


def test_chat_answer_reaches_client_with_public_model_name(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi there"}])
    assert resp.choices[0].message.content == fake.reply
    assert resp.model == "gpt-4o-mini"
    assert resp.usage is not None and resp.usage.completion_tokens == len(fake.reply.split())


def test_public_name_is_rewritten_to_upstream_id_and_client_key_never_sent(
    server: BonitoServer, fake: FakeOpenAI
) -> None:
    client = server.openai(KEY)
    resp = client.chat.completions.create(
        model="fast-chat", messages=[{"role": "user", "content": "x"}], extra_body={"custom_field": {"a": 1}},
        seed=7,
    )
    assert resp.model == "fast-chat"
    seen = fake.requests[-1]
    assert seen.body["model"] == "upstream-fast-model"
    assert seen.body["custom_field"] == {"a": 1}
    assert seen.body["seed"] == 7
    assert seen.headers["Authorization"] == "Bearer sk-upstream"
    assert KEY not in str(seen.headers)


def test_stream_without_include_usage_has_no_usage_chunk(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == fake.reply
    assert all(c.choices for c in chunks), "a usage-only chunk leaked to a client that did not ask"
    assert all(c.model == "gpt-4o-mini" for c in chunks)
    # Bonito asked the upstream for usage anyway, to meter the stream
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}


def test_stream_with_include_usage_ends_with_usage_chunk(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True,
        stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None and last.usage.completion_tokens == len(fake.reply.split())


def test_streamed_tool_calls_arrive_whole(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    tools = [{"type": "function", "function": {"name": "get_capital", "parameters": {
        "type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}}}]
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of the UK?"}], tools=tools,
        tool_choice="auto", stream=True)
    args, name, finish = "", None, None
    for chunk in stream:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                name = name or (tc.function.name if tc.function else None)
                args += (tc.function.arguments or "") if tc.function else ""
            finish = choice.finish_reason or finish
    assert name == "get_capital"
    assert args == '{"country": "United Kingdom"}'
    assert finish == "tool_calls"
    assert fake.requests[-1].body["tools"] == tools
    assert fake.requests[-1].body["tool_choice"] == "auto"


def test_non_stream_tool_calls_pass_through(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
                                          tools=tools)
    call = resp.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "lookup"
    assert resp.choices[0].finish_reason == "tool_calls"


def test_completions_and_embeddings(server: BonitoServer, fake: FakeOpenAI) -> None:
    client = server.openai(KEY)
    comp = client.completions.create(model="gpt-4o-mini", prompt="Say hi")
    assert comp.choices[0].text.strip() == fake.reply
    assert comp.model == "gpt-4o-mini"
    emb = client.embeddings.create(model="text-embedding-3-small", input=["a", "bb"], dimensions=4)
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 4
    assert emb.model == "text-embedding-3-small"
    assert fake.requests[-1].body["model"] == "text-embedding-3-small"


def test_embeddings_base64_is_passed_through(server: BonitoServer, fake: FakeOpenAI) -> None:
    import httpx

    r = httpx.post(server.url + "/v1/embeddings", headers={"Authorization": f"Bearer {KEY}"},
                   json={"model": "text-embedding-3-small", "input": "hello", "encoding_format": "base64",
                         "dimensions": 3})
    assert r.status_code == 200
    assert isinstance(r.json()["data"][0]["embedding"], str)
    # and the SDK's default (it asks for base64 and decodes) gives floats
    emb = server.openai(KEY).embeddings.create(model="text-embedding-3-small", input="hello", dimensions=3)
    assert len(emb.data[0].embedding) == 3
    assert all(isinstance(x, float) for x in emb.data[0].embedding)
