"""`bonito chat`: a conversation from stdin keeps its history; --system, --no-stream, --json; cost summary."""

from __future__ import annotations

import json

from tests.cli.support import Cli
from tests.control.helpers import Api
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer


def _wait_served(cli: Cli, key: str, **env: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while cli.run("chat", "gpt-4o-mini", "warm up", "--key", key, **env).returncode != 0:
        assert time.monotonic() < deadline, "the new key never served"
        time.sleep(0.2)


def test_conversation_from_stdin_keeps_the_history(cli: Cli, server: BonitoServer, api: Api,
                                                   fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    env = {"BONITO_URL": server.url, "BONITO_KEY": org.key["key"]}
    _wait_served(cli, org.key["key"], BONITO_URL=server.url)
    fake.requests.clear()
    out = cli.ok("chat", "gpt-4o-mini", "--system", "Be brief.", "--max-tokens", "50", "--temperature", "0.2",
                 input="first question\n\nsecond question\n", **env)
    assert out.stdout.splitlines() == [fake.reply, fake.reply]
    chats = [r.body for r in fake.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 2 and chats[0]["stream"] is True and chats[0]["max_tokens"] == 50
    assert [m["role"] for m in chats[1]["messages"]] == ["system", "user", "assistant", "user"]
    assert chats[1]["messages"][2]["content"] == fake.reply
    assert chats[1]["messages"][0]["content"] == "Be brief."


def test_no_stream_json_and_the_cost_summary(cli: Cli, server: BonitoServer, api: Api, fake: FakeOpenAI) -> None:
    org = api.org_with_key(fake.url)
    _wait_served(cli, org.key["key"], BONITO_URL=server.url)
    plain = cli.ok("chat", "gpt-4o-mini", "hello", "--no-stream", "--key", org.key["key"], BONITO_URL=server.url,
                   BONITO_TOKEN=org.admin.access)
    assert plain.stdout.strip() == fake.reply
    assert "$0.0" in plain.stderr  # with an /api identity the prices are known: the cost is shown
    doc = json.loads(cli.ok("chat", "gpt-4o-mini", "hello", "--json", "--key", org.key["key"],
                            BONITO_URL=server.url).stdout)
    assert doc["object"] == "chat.completion" and doc["choices"][0]["message"]["content"] == fake.reply
    quiet = cli.ok("-q", "chat", "gpt-4o-mini", "hello", "--key", org.key["key"], BONITO_URL=server.url)
    assert quiet.stderr == ""
    refused = cli.fails(1, "chat", "no-such-model", "hello", "--key", org.key["key"], BONITO_URL=server.url)
    assert "404" in refused.stderr and "no-such-model" in refused.stderr and refused.stdout == ""


def test_server_errors_are_reported_without_a_traceback(cli: Cli, server: BonitoServer, api: Api,
                                                        fake: FakeOpenAI) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.fakes.openai_upstream import Fault

    org = api.org_with_key(fake.url)
    _wait_served(cli, org.key["key"], BONITO_URL=server.url)
    fake.fail_always(Fault(status=500))
    failed = cli.fails(1, "chat", "gpt-4o-mini", "hello", "--key", org.key["key"], BONITO_URL=server.url)
    assert "502" in failed.stderr and failed.stdout.strip() == ""

    class Broken(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>Internal Server Error</html>"
            self.send_response(500)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    broken = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    threading.Thread(target=broken.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{broken.server_address[1]}"
        out = cli.fails(1, "whoami", "--json", BONITO_URL=url, BONITO_TOKEN="x")
        assert "500" in out.stderr and out.stdout == ""
    finally:
        broken.shutdown()
