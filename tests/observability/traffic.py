"""Known traffic through the official openai SDK, and what a scrape of /metrics says about it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import openai
from prometheus_client.parser import text_string_to_metric_families

from tests.support.configs import KEY, NARROW_KEY
from tests.support.ports import free_port

PROMPT = "tell me about the tides of the northern sea"
INPUT_PRICE, OUTPUT_PRICE = Decimal("0.15"), Decimal("0.60")


def config(upstream_url: str) -> str:
    """The fake upstream as `local-openai`; `dead` answers nothing (a closed port)."""
    return f"""\
version: 1
providers:
  local-openai:
    type: openai
    base_url: {upstream_url}
    api_key: sk-upstream
  dead:
    type: openai
    base_url: http://127.0.0.1:{free_port()}/v1
    api_key: sk-dead
models:
  gpt-4o-mini:
    provider: local-openai
    model: gpt-4o-mini
    input_cost_per_mtok: 0.15
    output_cost_per_mtok: 0.60
  fast-chat:
    provider: local-openai
    model: upstream-fast-model
  broken:
    provider: dead
    model: gpt-4o-mini
routes:
  resilient:
    strategy: failover
    targets: [{{model: broken}}, {{model: gpt-4o-mini}}]
    retries: {{max_attempts: 1}}
    circuit_breaker: {{failure_threshold: 2, cooldown_s: 600}}
keys:
  - name: ci
    key: {KEY}
  - name: narrow
    key: {NARROW_KEY}
    allowed_models: [gpt-4o-mini]
"""


@dataclass
class Sent:
    """What the client saw: answers per model, tokens and cost from the responses' own usage."""

    answered: int = 0
    streams: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def cost(self) -> Decimal:
        return (self.prompt_tokens * INPUT_PRICE + self.completion_tokens * OUTPUT_PRICE) / 1_000_000


def client(base_url: str, key: str = KEY) -> openai.OpenAI:
    # a client (and so a connection) per call: with several workers, calls land on each of them
    return openai.OpenAI(api_key=key, base_url=base_url + "/v1", max_retries=0)


def send_known_traffic(base_url: str, *, chats: int = 3, streams: int = 2) -> Sent:
    sent = Sent()
    for _ in range(chats):
        with client(base_url) as c:
            r = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}])
        assert r.usage is not None
        sent.answered += 1
        sent.prompt_tokens += r.usage.prompt_tokens
        sent.completion_tokens += r.usage.completion_tokens
    for _ in range(streams):
        with client(base_url) as c:
            chunks = list(c.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                    stream_options={"include_usage": True},
                                                    messages=[{"role": "user", "content": PROMPT}]))
        usage = chunks[-1].usage
        assert usage is not None
        sent.answered += 1
        sent.streams += 1
        sent.prompt_tokens += usage.prompt_tokens
        sent.completion_tokens += usage.completion_tokens
    with client(base_url, NARROW_KEY) as c:  # a model the key may not use: 403
        try:
            c.chat.completions.create(model="fast-chat", messages=[{"role": "user", "content": PROMPT}])
            raise AssertionError("fast-chat should be refused to the narrow key")
        except openai.PermissionDeniedError:
            pass
    with client(base_url) as c:  # a model nobody defined: 404, and its name is no label
        try:
            c.chat.completions.create(model="no-such-model-zq7", messages=[{"role": "user", "content": PROMPT}])
            raise AssertionError("an unknown model should be a 404")
        except openai.NotFoundError:
            pass
    with client(base_url, "bn-nobody-has-this-key") as c:  # no owner, no usage record: still counted
        try:
            c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}])
            raise AssertionError("an unknown key should be a 401")
        except openai.AuthenticationError:
            pass
    return sent


def send_parallel(base_url: str, sent: Sent, n: int = 8) -> None:
    """`n` chats at once (so that, with several workers, more than one of them accepts), added to `sent`."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> tuple[int, int]:
        with client(base_url) as c:
            r = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}])
        assert r.usage is not None
        return r.usage.prompt_tokens, r.usage.completion_tokens

    with ThreadPoolExecutor(n) as pool:
        for prompt, completion in pool.map(one, range(n)):
            sent.answered += 1
            sent.prompt_tokens += prompt
            sent.completion_tokens += completion


@dataclass
class Scrape:
    text: str
    samples: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=lambda: defaultdict(list))

    def value(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
        return sum(v for lab, v in self.samples.get(name, []) if all(lab.get(k) == x for k, x in labels.items()))


def scrape(base_url: str, token: str | None = None) -> Scrape:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(base_url + "/metrics", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out = Scrape(r.text)
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.samples[s.name].append((dict(s.labels), s.value))
    return out
