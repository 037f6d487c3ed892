"""Every error in CONTRACT.md's table, OpenAI-shaped, with x-request-id."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes.openai_upstream import FakeOpenAI, Fault
from tests.support.configs import KEY, LIMITED_KEY, NARROW_KEY
from tests.support.server import BonitoServer

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _post(server: BonitoServer, body: object = CHAT, key: str | None = KEY, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kw.pop("headers", {}))  # type: ignore[arg-type]
    if isinstance(body, bytes):
        return httpx.post(server.url + "/v1/chat/completions", content=body, headers=headers, timeout=30)
    return httpx.post(server.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)


def _assert_openai_error(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["x-request-id"]
    err = r.json()["error"]
    assert set(err) >= {"message", "type", "param", "code"}
    assert err["message"]
    return err  # type: ignore[no-any-return]


def test_missing_key_is_401(server: BonitoServer) -> None:
    _assert_openai_error(_post(server, key=None), 401)
    with pytest.raises(openai.AuthenticationError):
        server.openai("bn-wrong").chat.completions.create(**CHAT)  # type: ignore[arg-type]


def test_x_api_key_header_is_accepted(server: BonitoServer, fake: FakeOpenAI) -> None:
    r = _post(server, key=None, headers={"x-api-key": KEY})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == fake.reply


def test_model_not_allowed_for_key_is_403(server: BonitoServer) -> None:
    err = _assert_openai_error(_post(server, {**CHAT, "model": "fast-chat"}, key=NARROW_KEY), 403)
    assert err["param"] == "model"
    with pytest.raises(openai.PermissionDeniedError):
        server.openai(NARROW_KEY).chat.completions.create(model="fast-chat", messages=CHAT["messages"])  # type: ignore[arg-type]


def test_unknown_model_is_404_model_not_found(server: BonitoServer) -> None:
    err = _assert_openai_error(_post(server, {**CHAT, "model": "no-such-model"}), 404)
    assert err["code"] == "model_not_found"


@pytest.mark.parametrize("body,param", [
    (b"{not json", None),
    (b"[1,2]", None),
    ({"messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "gpt-4o-mini"}, "messages"),
    ({"model": "gpt-4o-mini", "messages": "hello"}, "messages"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
])
def test_malformed_body_is_400_naming_the_field(server: BonitoServer, body: object, param: str | None) -> None:
    err = _assert_openai_error(_post(server, body), 400)
    assert err["param"] == param


def test_body_too_large_is_413(server: BonitoServer) -> None:
    big = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"x" * (11 * 1024 * 1024) + b'"}]}'
    _assert_openai_error(_post(server, big), 413)


def test_rate_limit_429_with_headers(server: BonitoServer, fake: FakeOpenAI) -> None:
    seen = []
    for _ in range(3):
        r = _post(server, key=LIMITED_KEY)
        assert r.status_code == 200
        seen.append(int(r.headers["x-ratelimit-remaining-requests"]))
        assert r.headers["x-ratelimit-limit-requests"] == "3"
    assert seen == [2, 1, 0]
    r = _post(server, key=LIMITED_KEY)
    err = _assert_openai_error(r, 429)
    assert err["type"] == "rate_limit_exceeded"
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["x-ratelimit-limit-requests"] == "3"
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert r.headers["x-ratelimit-reset-requests"]


def test_request_id_is_echoed_or_generated(server: BonitoServer) -> None:
    r = _post(server, headers={"x-request-id": "client-chosen-id-42"})
    assert r.headers["x-request-id"] == "client-chosen-id-42"
    r2 = _post(server)
    assert r2.headers["x-request-id"] and r2.headers["x-request-id"] != "client-chosen-id-42"
    r3 = httpx.get(server.url + "/v1/nope", headers={"x-request-id": "abc"})
    assert r3.status_code == 404 and r3.headers["x-request-id"] == "abc"


def test_upstream_500_after_retries_is_502(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.fail_always(Fault(status=500))
    _assert_openai_error(_post(server), 502)
    with pytest.raises(openai.InternalServerError) as exc:
        server.openai(KEY).chat.completions.create(**CHAT)  # type: ignore[arg-type]
    assert exc.value.status_code == 502


def test_transient_upstream_500_is_retried_invisibly(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.fail_next(Fault(status=500))
    r = _post(server)
    assert r.status_code == 200
    assert r.headers["x-bonito-attempts"] == "2"
    assert len(fake.requests) == 2


def test_upstream_429_retry_after_is_honoured(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.fail_next(Fault(status=429, retry_after=0.5, error_type="rate_limit_exceeded"))
    r = _post(server)
    assert r.status_code == 200
    assert r.headers["x-bonito-attempts"] == "2"


def test_upstream_429_that_persists_reaches_client_as_429(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.fail_always(Fault(status=429, retry_after=0.2, error_type="rate_limit_exceeded"))
    r = _post(server)
    _assert_openai_error(r, 429)
    assert "retry-after" in r.headers


def test_client_caused_upstream_400_is_passed_through(server: BonitoServer, fake: FakeOpenAI) -> None:
    fake.fail_next(Fault(status=400, message="Unsupported value: 'temperature' does not support 0.3",
                         error_type="invalid_request_error", code="unsupported_value", param="temperature"))
    r = _post(server)
    err = _assert_openai_error(r, 400)
    assert err["message"] == "Unsupported value: 'temperature' does not support 0.3"
    assert err["param"] == "temperature" and err["code"] == "unsupported_value"
    assert len(fake.requests) == 1, "a client error must not be retried"


def test_upstream_connection_refused_is_502(tmp_path, upstream: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    from tests.support.configs import basic_config
    from tests.support.ports import free_port

    with BonitoServer(tmp_path, basic_config(f"http://127.0.0.1:{free_port()}/v1")) as srv:
        _assert_openai_error(_post(srv), 502)


def test_upstream_timeout_is_504(tmp_path, upstream: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    from tests.support.configs import basic_config

    upstream.reset()
    cfg = basic_config(upstream.url).replace("    api_key: sk-upstream\n", "    api_key: sk-upstream\n    timeout_s: 0.5\n")
    upstream.fail_always(Fault(delay_s=1.5))
    try:
        with BonitoServer(tmp_path, cfg) as srv:
            err = _assert_openai_error(_post(srv), 504)
            assert err["type"] == "timeout"
    finally:
        upstream.reset()


def test_wrong_method_and_unknown_path(server: BonitoServer) -> None:
    r = httpx.get(server.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"})
    _assert_openai_error(r, 405)
    r = httpx.post(server.url + "/v1/unknown", headers={"Authorization": f"Bearer {KEY}"})
    _assert_openai_error(r, 404)


def test_models_list_is_filtered_by_key(server: BonitoServer) -> None:
    full = {m.id for m in server.openai(KEY).models.list()}
    assert full == {"gpt-4o-mini", "fast-chat", "text-embedding-3-small"}
    narrow = [m.id for m in server.openai(NARROW_KEY).models.list()]
    assert narrow == ["gpt-4o-mini"]
    assert server.openai(KEY).models.retrieve("fast-chat").id == "fast-chat"
    with pytest.raises(openai.NotFoundError):
        server.openai(NARROW_KEY).models.retrieve("fast-chat")


def test_upstream_rejecting_provider_key_is_502_without_its_words(tmp_path, upstream: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    from tests.support.configs import basic_config

    with BonitoServer(tmp_path, basic_config(upstream.url, api_key="sk-wrong-provider-key")) as srv:
        err = _assert_openai_error(_post(srv), 502)
        assert err["code"] == "provider_auth_failed"
        assert "sk-wrong" not in str(err) and "Incorrect API key" not in str(err)
        with pytest.raises(openai.InternalServerError):  # not AuthenticationError: the client's key is fine
            srv.openai(KEY).chat.completions.create(**CHAT)  # type: ignore[arg-type]
