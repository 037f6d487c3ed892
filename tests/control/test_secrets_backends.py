"""AES-256-GCM keyring, master key rotation, and the Vault KV v2 backend against a fake Vault."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bonito.secrets.keyring import Keyring, SecretError, load_keyring, parse_key
from bonito.secrets.vault import VaultSecretBackend
from tests.control.helpers import Api, chat, eventually
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.vault import FakeVault
from tests.support.server import BonitoServer

SECRET = "sk-vaulted-credential-5555"


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    fake = FakeVault().start()
    yield fake
    fake.stop()


def test_sealed_secrets_open_only_with_their_key_and_name(tmp_path: Path) -> None:
    ring = load_keyring(tmp_path, None)
    sealed = ring.seal(b"top secret", "providers/a")
    assert b"top secret" not in sealed.encode() and ring.open(sealed, "providers/a") == b"top secret"
    with pytest.raises(SecretError):
        ring.open(sealed, "providers/b")  # bound to its row: cannot be moved to another
    with pytest.raises(SecretError):
        Keyring(parse_key("another key")).open(sealed, "providers/a")
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    assert load_keyring(tmp_path, None).current == ring.current  # the file is reused
    assert Keyring(parse_key("00" * 32)).current == bytes(32)


def test_rotate_master_key_reencrypts_and_a_running_server_keeps_serving(tmp_path: Path, fake: FakeOpenAI) -> None:
    with BonitoServer(tmp_path) as srv:
        api = Api(srv.url)
        org = api.org_with_key(fake.url)
        eventually(lambda: chat(srv.url, org.key["key"]).status_code == 200, within_s=2.0)
        old_key = (tmp_path / ".bonito" / "master.key").read_text()
        out = subprocess.run([sys.executable, "-m", "bonito", "secrets", "rotate-master-key"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "re-encrypted 1 credentials" in out.stdout
        assert (tmp_path / ".bonito" / "master.key").read_text() != old_key
        assert not (tmp_path / ".bonito" / "master.key.next").exists()
        # a config change makes the server recompile: it must open the re-encrypted credentials
        api.post("/api/models", org.admin, {"name": "after-rotation", "provider_id": org.provider["id"],
                                            "model": "gpt-4o"})
        eventually(lambda: chat(srv.url, org.key["key"], "after-rotation").status_code == 200, within_s=3.0)
        assert api.post(f"/api/providers/{org.provider['id']}/validate", org.admin).json()["ok"] is True
        api.close()


def test_vault_backend_round_trip(vault: FakeVault) -> None:
    backend = VaultSecretBackend(vault.url, vault.token)
    ref = asyncio.run(backend.put("providers/p1", b'{"api_key": "x"}'))
    assert ref.startswith("vault:bonito/providers/p1#")
    assert asyncio.run(backend.get("providers/p1", ref)) == b'{"api_key": "x"}'
    ref2 = asyncio.run(backend.put("providers/p1", b"v2"))
    assert asyncio.run(backend.get("providers/p1", ref)) == b'{"api_key": "x"}'  # versions stay addressable
    assert asyncio.run(backend.get("providers/p1", ref2)) == b"v2"
    with pytest.raises(SecretError, match="vault read failed"):
        asyncio.run(VaultSecretBackend(vault.url, "wrong-token").get("providers/p1", ref))


def test_a_server_with_the_vault_backend_keeps_credentials_only_in_vault(
        tmp_path: Path, vault: FakeVault, fake: FakeOpenAI) -> None:
    env = {"BONITO_SECRETS_BACKEND": "vault", "VAULT_ADDR": vault.url, "VAULT_TOKEN": vault.token}
    with BonitoServer(tmp_path, env=env) as srv:
        api = Api(srv.url)
        org = api.org_with_key(fake.url, api_key="sk-upstream")
        eventually(lambda: chat(srv.url, org.key["key"]).status_code == 200, within_s=2.0)
        stored = vault.store[("secret", f"bonito/providers/{org.provider['id']}")]
        assert b"sk-upstream" in base64.b64decode(stored[-1]["data"]["value_b64"])
        blobs = b"".join(p.read_bytes() for p in (tmp_path / ".bonito").iterdir() if p.name.startswith("bonito.db"))
        assert b"vault:bonito/providers/" in blobs and b"sk-upstream" not in blobs
        assert api.delete(f"/api/providers/{org.provider['id']}", org.admin).status_code == 204
        assert ("secret", f"bonito/providers/{org.provider['id']}") not in vault.store
        api.close()


def test_admin_create_makes_a_platform_admin_who_sees_every_org(tmp_path: Path) -> None:
    with BonitoServer(tmp_path, env={"ADMIN_EMAILS": "boss@example.com"}) as srv:
        out = subprocess.run([sys.executable, "-m", "bonito", "admin", "create", "--email", "Ops@Example.com",
                              "--password", "long enough password"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        api = Api(srv.url)
        r = api.login("ops@example.com", "long enough password")
        assert r.status_code == 200
        token = r.json()["access_token"]
        me = api.get("/api/auth/me", token).json()
        assert me["is_platform_admin"] and me["org_id"] == "default" and me["role"] == "admin"
        api.register()
        assert len(api.get("/api/admin/orgs", token).json()) == 2
        boss = api.register("boss@example.com")
        assert api.get("/api/auth/me", boss).json()["is_platform_admin"] is True
        assert api.get("/api/admin/orgs", api.register()).status_code == 403
        again = subprocess.run([sys.executable, "-m", "bonito", "admin", "create", "--email", "ops@example.com",
                                "--password", "long enough password"], cwd=tmp_path, capture_output=True, text=True)
        assert again.returncode == 1 and "already exists" in again.stderr
        api.close()
