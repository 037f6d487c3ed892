"""`chat MODEL [PROMPT]`: talk to a model through the gateway, the answer written as it arrives."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any

import typer

from bonito.cli.client import Api
from bonito.cli.options import JsonOpt, quiet, state
from bonito.cli.output import CliError, emit_json, note, usage_error


def register(app: typer.Typer) -> None:
    app.command(help="Chat with a model through the gateway; the answer streams as it arrives.")(chat)


def chat(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="a public model or route name")],
    prompt: Annotated[str | None, typer.Argument(
        help="the message; without it, a conversation is read from stdin, one message a line")] = None,
    key: Annotated[str | None, typer.Option("--key", envvar="BONITO_KEY", metavar="bn-…",
                                            help="the gateway key (or $BONITO_KEY)")] = None,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="wait for the whole answer")] = False,
    system: Annotated[str | None, typer.Option("--system", metavar="TEXT", help="a system message")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", min=0, max=2)] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1)] = None,
    raw: Annotated[bool, typer.Option("--raw", help="no Markdown rendering, even on a terminal")] = False,
    json_out: JsonOpt = False,
) -> None:
    if not key:
        raise usage_error("a gateway key is needed: --key bn-… or $BONITO_KEY (create one with `bonito keys create`)")
    client = Api(state(ctx).profile)
    talk = Conversation(client, model, key, system, temperature, max_tokens)
    stream = not no_stream and not json_out
    markdown = stream and not raw and sys.stdout.isatty()
    turns = [prompt] if prompt is not None else _stdin_turns()
    answers: list[Any] = []
    for text in turns:
        if stream:
            talk.stream(text, markdown=markdown)
        else:
            doc = talk.complete(text)
            if json_out:
                answers.append(doc)
            else:
                sys.stdout.write(_content(doc) + "\n")
                sys.stdout.flush()
        note(talk.summary(), quiet=quiet(ctx))
    if json_out:
        emit_json(answers[0] if prompt is not None else answers)


def _stdin_turns() -> Iterator[str]:
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            sys.stderr.write("you> ")
            sys.stderr.flush()
        text = sys.stdin.readline()
        if not text:
            return
        if text.strip():
            yield text.rstrip("\n")


def _content(doc: dict[str, Any]) -> str:
    choices = doc.get("choices") or [{}]
    return str((choices[0].get("message") or {}).get("content") or "")


class Conversation:
    """The messages so far, and what the last turn cost."""

    def __init__(self, client: Api, model: str, key: str, system: str | None, temperature: float | None,
                 max_tokens: int | None) -> None:
        self.client, self.model, self.key = client, model, key
        self.messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
        self.options: dict[str, Any] = {}
        if temperature is not None:
            self.options["temperature"] = temperature
        if max_tokens is not None:
            self.options["max_tokens"] = max_tokens
        self.usage: dict[str, Any] = {}
        self.model_used = model
        self.seconds = 0.0
        self._prices: dict[str, tuple[Decimal, Decimal]] | None = None

    def _body(self, text: str, stream: bool) -> dict[str, Any]:
        self.messages.append({"role": "user", "content": text})
        body = {"model": self.model, "messages": self.messages, **self.options}
        if stream:
            body.update(stream=True, stream_options={"include_usage": True})
        return body

    def complete(self, text: str) -> dict[str, Any]:
        started = time.monotonic()
        r = self.client.send("POST", "/v1/chat/completions", auth=False, json=self._body(text, False),
                             headers={"authorization": f"Bearer {self.key}"})
        doc: dict[str, Any] = self.client.json_body(r)
        self.seconds = time.monotonic() - started
        self.model_used = r.headers.get("x-bonito-model-used", doc.get("model", self.model))
        self.usage = doc.get("usage") or {}
        self.messages.append({"role": "assistant", "content": _content(doc)})
        return doc

    def stream(self, text: str, *, markdown: bool) -> None:
        started = time.monotonic()
        parts: list[str] = []
        with self.client.stream("POST", "/v1/chat/completions", auth=False, json=self._body(text, True),
                                headers={"authorization": f"Bearer {self.key}"}) as r:
            self.model_used = r.headers.get("x-bonito-model-used", self.model)
            deltas = self._deltas(r.iter_lines())
            if markdown:
                _render_markdown(deltas, parts)
            else:
                for delta in deltas:
                    parts.append(delta)
                    sys.stdout.write(delta)
                    sys.stdout.flush()  # as it arrives, also into a pipe
                sys.stdout.write("\n")
                sys.stdout.flush()
        self.seconds = time.monotonic() - started
        self.messages.append({"role": "assistant", "content": "".join(parts)})

    def _deltas(self, lines: Iterator[str]) -> Iterator[str]:
        for raw in lines:
            if not raw.startswith("data:"):
                continue
            data = raw[5:].strip()
            if data == "[DONE]":
                return
            try:
                chunk = json.loads(data)
            except ValueError:
                continue
            if "error" in chunk:
                raise CliError(f"the stream failed: {chunk['error'].get('message', chunk['error'])}")
            if chunk.get("usage"):
                self.usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    yield content

    def summary(self) -> str:
        tokens_in = self.usage.get("prompt_tokens")
        tokens_out = self.usage.get("completion_tokens")
        parts = [f"model {self.model_used}"]
        if tokens_in is not None:
            parts.append(f"{tokens_in} in / {tokens_out} out tokens")
            cost = self._cost(int(tokens_in or 0), int(tokens_out or 0))
            if cost is not None:
                parts.append(f"${cost:.6f}")
        parts.append(f"{self.seconds:.1f} s")
        return " · ".join(parts)

    def _cost(self, tokens_in: int, tokens_out: int) -> Decimal | None:
        """From the model's prices, when this session may read them (a key alone cannot)."""
        if self._prices is None:
            self._prices = {}
            if self.client.token:
                try:
                    for m in self.client.get("/api/models"):
                        self._prices[m["name"]] = (Decimal(str(m.get("input_cost_per_mtok") or 0)),
                                                   Decimal(str(m.get("output_cost_per_mtok") or 0)))
                except CliError:
                    pass
        price = self._prices.get(self.model_used)
        if price is None:
            return None
        return (tokens_in * price[0] + tokens_out * price[1]) / Decimal(1_000_000)


def _render_markdown(deltas: Iterator[str], parts: list[str]) -> None:
    """On a terminal: the answer re-rendered as Markdown while it grows."""
    from rich.live import Live
    from rich.markdown import Markdown

    from bonito.cli.output import console

    out = console()
    # live while it grows (cropped to the screen: re-rendering past it would repeat lines), then whole
    with Live(Markdown(""), console=out, refresh_per_second=12, vertical_overflow="ellipsis",
              transient=True) as live:
        for delta in deltas:
            parts.append(delta)
            live.update(Markdown("".join(parts)))
    out.print(Markdown("".join(parts)))
