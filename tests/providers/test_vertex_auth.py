"""Service-account tokens against the fake's real JWT-bearer exchange: caching, refresh, failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bonito.providers.vertex.auth import CredentialsError, ServiceAccountTokenSource
from tests.fakes.vertex import (
    CLOUD_PLATFORM,
    GOOGLE_TOKEN_AUDIENCE,
    FakeVertex,
    make_service_account,
    running_fake,
)

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "providers" / "vertex"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVertex]:
    async with running_fake() as f:
        yield f


@pytest.fixture
def sa_info(fake: FakeVertex, rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    info, public = make_service_account(fake.token_uri, key=rsa_key)
    fake.add_service_account(info["client_email"], public)
    return info


async def test_token_exchange_sends_a_valid_rs256_assertion(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    source = ServiceAccountTokenSource(service_account_json=json.dumps(sa_info))
    token = await source.token()
    assert token in fake.tokens
    (form,) = fake.token_forms
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(form["assertion"], options={"verify_signature": False})
    assert claims["iss"] == sa_info["client_email"]
    assert claims["aud"] == GOOGLE_TOKEN_AUDIENCE
    assert claims["scope"] == CLOUD_PLATFORM
    assert claims["exp"] - claims["iat"] <= 3600


async def test_token_is_cached(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    source = ServiceAccountTokenSource(service_account_json=json.dumps(sa_info))
    first = await source.token()
    assert await source.token() == first
    assert fake.token_requests == 1


async def test_concurrent_callers_share_one_refresh(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    source = ServiceAccountTokenSource(service_account_json=json.dumps(sa_info))
    tokens = await asyncio.gather(*(source.token() for _ in range(20)))
    assert len(set(tokens)) == 1
    assert fake.token_requests == 1


async def test_token_is_refreshed_before_it_expires(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    fake.token_lifetime_s = 2  # renewed halfway through a short-lived token
    source = ServiceAccountTokenSource(service_account_json=json.dumps(sa_info))
    first = await source.token()
    await asyncio.sleep(1.2)
    second = await source.token()
    assert second != first and fake.token_requests == 2
    assert second in fake.tokens


async def test_invalidate_forces_a_new_token(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    source = ServiceAccountTokenSource(service_account_json=json.dumps(sa_info))
    first = await source.token()
    source.invalidate("some-other-token")  # a stale rejection does not drop the current token
    assert await source.token() == first
    source.invalidate(first)
    assert await source.token() != first


async def test_key_file_is_read(fake: FakeVertex, sa_info: dict[str, Any], tmp_path: Path) -> None:
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(sa_info))
    source = ServiceAccountTokenSource(service_account_file=str(key_file))
    assert (await source.token()).startswith("ya29.fake-")


async def test_recorded_token_answer_is_understood(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    fake.token_replay = json.loads((FIXTURES / "oauth2_token_jwt_bearer.json").read_text())
    source = ServiceAccountTokenSource(service_account_json=json.dumps(sa_info))
    assert await source.token() == "<REDACTED>"
    assert await source.token() == "<REDACTED>"  # expires_in 3599: cached
    assert fake.token_requests == 1


async def test_unknown_key_is_rejected_clearly(fake: FakeVertex, sa_info: dict[str, Any]) -> None:
    other, _public = make_service_account(fake.token_uri)  # signed by a key the fake does not trust
    other["client_email"] = sa_info["client_email"]
    source = ServiceAccountTokenSource(service_account_json=json.dumps(other))
    with pytest.raises(CredentialsError) as err:
        await source.token()
    assert "rejected" in err.value.message and "Invalid JWT Signature" in err.value.message
    assert not err.value.retryable


@pytest.mark.parametrize(("text", "needle"), [
    ("{not json", "not valid JSON"),
    ('["a list"]', "JSON object"),
    ('{"type": "service_account", "client_email": "x@y"}', "not valid"),
])
async def test_malformed_keys(text: str, needle: str) -> None:
    source = ServiceAccountTokenSource(service_account_json=text)
    with pytest.raises(CredentialsError) as err:
        await source.token()
    assert needle in err.value.message


async def test_missing_key_file(tmp_path: Path) -> None:
    source = ServiceAccountTokenSource(service_account_file=str(tmp_path / "absent.json"))
    with pytest.raises(CredentialsError) as err:
        await source.token()
    assert "not found" in err.value.message and "absent.json" in err.value.message


async def test_bad_private_key(sa_info: dict[str, Any]) -> None:
    broken = {**sa_info, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}
    source = ServiceAccountTokenSource(service_account_json=json.dumps(broken))
    with pytest.raises(CredentialsError) as err:
        await source.token()
    assert "not valid" in err.value.message


async def test_unreachable_token_endpoint_is_retryable(sa_info: dict[str, Any]) -> None:
    dead = {**sa_info, "token_uri": "http://127.0.0.1:9/token"}
    source = ServiceAccountTokenSource(service_account_json=json.dumps(dead))
    with pytest.raises(CredentialsError) as err:
        await source.token()
    assert err.value.retryable
