"""A clean install serves every provider type: `pip install <checkout>` (its own dependencies, no test
extras) into a fresh venv, then `bonito serve --config` with one provider of each type, each pointed at
its local fake, and one chat request to each. A runtime dependency missing from pyproject.toml fails here
(the test venv would hide it). Also: a provider whose adapter cannot load fails alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.azure import FakeAzure
from tests.fakes.bedrock import BedrockFake
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.vertex import FakeVertex, fake_in_thread, make_service_account
from tests.support.configs import KEY
from tests.support.server import BonitoServer

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"openai": "chat-openai", "azure": "chat-azure", "bedrock": "chat-bedrock", "vertex": "chat-vertex",
          "anthropic": "chat-anthropic"}


class Fakes:
    def __init__(self, openai_up: FakeOpenAI, azure: FakeAzure, bedrock: BedrockFake, vertex: FakeVertex,
                 claude: FakeAnthropic) -> None:
        self.openai, self.azure, self.bedrock, self.vertex, self.claude = openai_up, azure, bedrock, vertex, claude

    def config(self, workdir: Path) -> str:
        info, public = make_service_account(self.vertex.token_uri)
        self.vertex.add_service_account(info["client_email"], public)
        sa = workdir / "sa.json"
        sa.write_text(json.dumps(info))
        return f"""\
version: 1
providers:
  oai:
    type: openai
    base_url: {self.openai.url}
    api_key: {self.openai.api_key}
  az:
    type: azure
    endpoint: {self.azure.endpoint}
    api_key: {self.azure.api_key}
    api_version: 2024-10-21
  aws:
    type: bedrock
    region: us-east-1
    access_key_id: AKIDFAKE
    secret_access_key: fake-secret
    endpoint_url: {self.bedrock.url}
  gcp:
    type: vertex
    project: test-project
    location: us-central1
    service_account_file: {sa}
    endpoint_url: {self.vertex.url}
  claude:
    type: anthropic
    api_key: {self.claude.api_key}
    base_url: {self.claude.base_url}
models:
  chat-openai: {{provider: oai, model: gpt-4o-mini}}
  chat-azure: {{provider: az, model: gpt-4o-mini}}
  chat-bedrock: {{provider: aws, model: us.amazon.nova-micro-v1:0}}
  chat-vertex: {{provider: gcp, model: gemini-2.0-flash}}
  chat-anthropic: {{provider: claude, model: claude-sonnet-4-0}}
keys:
  - name: ci
    key: {KEY}
"""


@pytest.fixture(scope="module")
def fakes(upstream: FakeOpenAI) -> Iterator[Fakes]:
    bedrock = BedrockFake()
    bedrock.start_in_thread()
    try:
        with FakeAzure().running() as azure, FakeAnthropic().running() as claude, fake_in_thread() as vertex:
            yield Fakes(upstream, azure, bedrock, vertex, claude)
    finally:
        bedrock.stop_thread()


def _fresh_venv(tmp: Path) -> Path:
    """The checkout installed as a user installs it: its declared dependencies, no test extras."""
    checkout = tmp / "checkout"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    shutil.copytree(ROOT / "src", checkout / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          str(checkout)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return venv / "bin" / "python"


def _ask_every_provider(srv: BonitoServer) -> dict[str, int | str]:
    client = srv.openai(KEY)
    answers: dict[str, int | str] = {}
    for provider_type, model in MODELS.items():
        try:
            resp = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}],
                                                  max_tokens=20)
            answers[provider_type] = 200 if resp.choices else "no choices"
        except openai.APIStatusError as exc:
            answers[provider_type] = f"{exc.status_code}: {exc.message}"
    return answers


@pytest.mark.timeout(1200)  # pip installs every dependency from the package index
def test_a_fresh_install_serves_one_provider_of_every_type(tmp_path: Path, fakes: Fakes) -> None:
    python = _fresh_venv(tmp_path)
    work = tmp_path / "run"
    work.mkdir()
    # the Azure fake's token endpoint is not used: api-key auth
    with BonitoServer(work, fakes.config(work), python=str(python)) as srv:
        assert _ask_every_provider(srv) == {t: 200 for t in MODELS}, srv.logs()[-3000:]
        ready = httpx.get(srv.url + "/health/ready", timeout=5).json()
        assert "providers_unavailable" not in ready, ready


_HIDE_GOOGLE_AUTH = """\
import sys
class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name == "google.auth" or name.startswith("google.auth.") or name == "google.oauth2":
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None
sys.meta_path.insert(0, _Missing())
"""


def test_a_provider_whose_package_is_missing_fails_alone(tmp_path: Path, fakes: Fakes) -> None:
    # an install without google-auth, as when a dependency was left out: the server still starts
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(_HIDE_GOOGLE_AUTH)
    work = tmp_path / "run"
    work.mkdir()
    with BonitoServer(work, fakes.config(work), env={"PYTHONPATH": str(hide)}) as srv:
        answers = _ask_every_provider(srv)
        assert {t: a for t, a in answers.items() if t != "vertex"} == {t: 200 for t in MODELS if t != "vertex"}
        vertex = str(answers["vertex"])
        assert vertex.startswith("502") and "google.auth" in vertex and "gcp" in vertex, vertex
        ready = httpx.get(srv.url + "/health/ready", timeout=5)
        assert ready.status_code == 200
        assert "google.auth" in ready.json()["providers_unavailable"]["vertex"]
        log = srv.logs()
    assert log.count("vertex providers cannot serve") == 1, log[-3000:]
