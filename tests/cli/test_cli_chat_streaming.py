"""`bonito chat` writes the answer as it arrives: into a pipe (flushed per chunk) and on a terminal (tmux)."""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.cli.support import BONITO, Cli
from tests.control.helpers import Api, Org
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.server import BonitoServer

CHUNK_DELAY_S = 0.6  # the fake's reply is 5 words: a stream of ~3.5 s


@pytest.fixture
def org(api: Api, fake: FakeOpenAI, server: BonitoServer) -> Iterator[Org]:
    org = api.org_with_key(fake.url)
    deadline = time.monotonic() + 10
    while api.http.post(server.url + "/v1/chat/completions", headers={"authorization": f"Bearer {org.key['key']}"},
                        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
                        ).status_code != 200:
        assert time.monotonic() < deadline, "the new key never served"
        time.sleep(0.2)
    fake.chunk_delay_s = CHUNK_DELAY_S
    yield org


def test_chat_into_a_pipe_writes_each_chunk_as_it_arrives(cli: Cli, server: BonitoServer, org: Org,
                                                          fake: FakeOpenAI) -> None:
    proc = subprocess.Popen([BONITO, "chat", "gpt-4o-mini", "Say hello", "--key", org.key["key"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.environ(BONITO_URL=server.url))
    assert proc.stdout is not None
    got = b""
    deadline = time.monotonic() + 30
    while b"Hello" not in got and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            got += os.read(proc.stdout.fileno(), 4096)
    assert b"Hello" in got
    assert proc.poll() is None and b"upstream!" not in got  # the first words came before the stream ended
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (got + rest).decode().strip() == fake.reply
    assert b"Traceback" not in err


def test_chat_on_a_terminal_shows_text_before_the_stream_ends(cli: Cli, server: BonitoServer, org: Org,
                                                              fake: FakeOpenAI) -> None:
    socket = f"bonito-cli-{uuid.uuid4().hex[:8]}"
    env = cli.environ(BONITO_URL=server.url, TERM="xterm-256color")
    command = " ".join(["env", "-i", *(shlex.quote(f"{k}={v}") for k, v in env.items()),
                        shlex.quote(BONITO), "chat", "gpt-4o-mini", "'Say hello'", "--key",
                        shlex.quote(org.key["key"]), "; echo EXIT=$?; sleep 60"])
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "40", command], check=True, env=env)
    try:
        def screen() -> str:
            return subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout

        deadline = time.monotonic() + 30
        while "Hello" not in (text := screen()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Hello" in text, text
        assert "upstream!" not in text and "EXIT=" not in text  # text arrived while the stream went on
        while "EXIT=" not in (text := screen()) and time.monotonic() < deadline + 30:
            time.sleep(0.2)
        assert "Hello from the fake upstream!" in text and "EXIT=0" in text, text
        assert "Traceback" not in text
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def test_login_prompts_for_what_is_missing_on_a_terminal(cli: Cli, server: BonitoServer, api: Api) -> None:
    from tests.control.helpers import PASSWORD

    account = api.register()
    socket = f"bonito-cli-{uuid.uuid4().hex[:8]}"
    env = cli.environ(TERM="xterm-256color")
    command = " ".join(["env", "-i", *(shlex.quote(f"{k}={v}") for k, v in env.items()),
                        shlex.quote(BONITO), "login", "--url", server.url, "; echo EXIT=$?; sleep 60"])
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "40", command], check=True, env=env)
    try:
        def screen() -> str:
            return subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout

        def wait_for(text: str) -> str:
            deadline = time.monotonic() + 30
            while text not in (shown := screen()) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert text in shown, shown
            return shown

        wait_for("Email")
        subprocess.run([*tmux, "send-keys", account.email, "Enter"], check=True)
        wait_for("Password")
        subprocess.run([*tmux, "send-keys", PASSWORD, "Enter"], check=True)
        shown = wait_for("EXIT=")
        assert "EXIT=0" in shown and PASSWORD not in shown  # the password is not echoed
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    assert cli.json("whoami")["email"] == account.email
