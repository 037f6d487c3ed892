"""Provider connections: credentials validated against the bonito.yaml schema and stored encrypted."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.config.schema import ProviderConfig
from bonito.control.context import ControlContext
from bonito.control.deps import Principal
from bonito.control.errors import ApiError, Conflict
from bonito.control.schemas.catalog import ProviderIn, ProviderPatch
from bonito.control.services import audit
from bonito.control.services.common import bump_version, get_scoped, new_id, now
from bonito.providers.registry import build_provider
from bonito.secrets.keyring import SecretError
from bonito.store.catalog import ProviderRow

log = logging.getLogger("bonito.control")
_CONFIG: TypeAdapter[Any] = TypeAdapter(ProviderConfig)
CATALOG_TTL_S = 300.0


class InvalidCredentials(ApiError):
    status = 422


def parse_credentials(type_: str, credentials: dict[str, Any]) -> Any:
    """The provider config these credentials make, or 422 naming each bad field (never its value)."""
    if "type" in credentials and credentials["type"] != type_:
        raise InvalidCredentials([{"loc": ["body", "credentials", "type"], "msg": "must match `type` or be omitted",
                                   "type": "value_error"}])
    try:
        return _CONFIG.validate_python({**credentials, "type": type_})
    except ValidationError as exc:
        details = []
        for err in exc.errors():
            loc = [p for p in err["loc"][1:] if isinstance(p, str | int)]  # drop the union tag
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            details.append({"loc": ["body", "credentials", *loc], "msg": msg, "type": err["type"]})
        raise InvalidCredentials(details) from None


def secret_name(provider_id: str) -> str:
    return f"providers/{provider_id}"


def as_dict(row: ProviderRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "type": row.type, "created_at": row.created_at,
            "updated_at": row.updated_at}


async def _name_free(session: AsyncSession, org_id: str, name: str, except_id: str | None = None) -> None:
    q = select(ProviderRow.id).where(ProviderRow.org_id == org_id, ProviderRow.name == name)
    found = await session.scalar(q)
    if found is not None and found != except_id:
        raise Conflict(f"a provider named '{name}' already exists")


async def create(ctx: ControlContext, session: AsyncSession, p: Principal, body: ProviderIn) -> dict[str, Any]:
    config = parse_credentials(body.type, body.credentials)
    await _name_free(session, p.org_id, body.name)
    pid = new_id("prv")
    ref = await ctx.secrets.put(secret_name(pid), orjson.dumps(config.model_dump(mode="json")))
    row = ProviderRow(id=pid, org_id=p.org_id, name=body.name, type=body.type, secret_ref=ref,
                      created_at=now(), updated_at=now())
    session.add(row)
    await bump_version(session)
    audit.record(session, "provider.create", actor=p, target_type="provider", target_id=pid,
                 details={"name": body.name, "type": body.type})
    await session.commit()
    return as_dict(row)


async def update(ctx: ControlContext, session: AsyncSession, p: Principal, provider_id: str,
                 body: ProviderPatch) -> dict[str, Any]:
    row = await get_scoped(session, ProviderRow, p.org_id, provider_id, "provider")
    if body.name is not None and body.name != row.name:
        await _name_free(session, p.org_id, body.name, row.id)
        row.name = body.name
    if body.credentials is not None:
        config = parse_credentials(row.type, body.credentials)
        row.secret_ref = await ctx.secrets.put(secret_name(row.id), orjson.dumps(config.model_dump(mode="json")))
        audit.record(session, "provider.credentials_change", actor=p, target_type="provider", target_id=row.id)
        ctx.catalog_cache.pop(row.id, None)
    row.updated_at = now()
    await bump_version(session)
    await session.commit()
    return as_dict(row)


async def list_all(session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
    rows = (await session.execute(select(ProviderRow).where(ProviderRow.org_id == p.org_id)
                                  .order_by(ProviderRow.created_at, ProviderRow.id))).scalars()
    return [as_dict(r) for r in rows]


async def get(session: AsyncSession, p: Principal, provider_id: str) -> dict[str, Any]:
    return as_dict(await get_scoped(session, ProviderRow, p.org_id, provider_id, "provider"))


async def delete(ctx: ControlContext, session: AsyncSession, p: Principal, provider_id: str) -> None:
    row = await get_scoped(session, ProviderRow, p.org_id, provider_id, "provider")
    ref = row.secret_ref
    await session.delete(row)  # its models go with it (ON DELETE CASCADE)
    await bump_version(session)
    audit.record(session, "provider.delete", actor=p, target_type="provider", target_id=provider_id,
                 details={"name": row.name})
    await session.commit()
    ctx.catalog_cache.pop(provider_id, None)
    await ctx.secrets.delete(secret_name(provider_id), ref)


async def load_config(ctx: ControlContext, row: ProviderRow) -> Any:
    """Decrypt and parse a stored connection's config."""
    raw = await ctx.secrets.get(secret_name(row.id), row.secret_ref)
    return _CONFIG.validate_python(orjson.loads(raw))


async def _with_adapter(ctx: ControlContext, row: ProviderRow) -> tuple[Any, Any]:
    """The stored config and an adapter built from it."""
    try:
        config = await load_config(ctx, row)
    except (SecretError, ValidationError, orjson.JSONDecodeError) as exc:
        raise Conflict(f"the stored credentials cannot be read ({type(exc).__name__})") from None
    return config, build_provider(row.id, config)


_SECRET_FIELDS = ("api_key", "client_secret", "access_key_id", "secret_access_key", "session_token",
                  "service_account_json")


def _secret_values(config: Any) -> list[str]:
    """The credential strings of a config (and a service account's key fields), longest first."""
    values = [v for v in (getattr(config, name, None) for name in _SECRET_FIELDS) if isinstance(v, str)]
    account = getattr(config, "service_account_json", None)
    if isinstance(account, str):
        try:
            parsed = orjson.loads(account)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            values += [v for k, v in parsed.items() if "key" in str(k) and isinstance(v, str)]
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def _redact(value: Any, secrets: list[str]) -> Any:
    """`value` with every credential string replaced: an adapter's message may quote the upstream."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {str(_redact(k, secrets)): _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    return value


async def validate(ctx: ControlContext, session: AsyncSession, p: Principal, provider_id: str) -> dict[str, Any]:
    row = await get_scoped(session, ProviderRow, p.org_id, provider_id, "provider")
    config, adapter = await _with_adapter(ctx, row)
    secrets = _secret_values(config)
    try:
        result = await asyncio.wait_for(adapter.validate(), 30)
        out = {"id": row.id, "ok": bool(result.ok), "message": _redact(str(result.message), secrets),
               "details": _redact(dict(result.details or {}), secrets)}
    except TimeoutError:
        out = {"id": row.id, "ok": False, "message": "the provider did not answer within 30 s", "details": {}}
    except Exception as exc:  # an adapter bug must not become a 500 or leak its message
        log.warning("provider %s validation raised %s", row.id, type(exc).__name__)
        out = {"id": row.id, "ok": False, "message": f"validation failed ({type(exc).__name__})", "details": {}}
    finally:
        await adapter.aclose()
    audit.record(session, "provider.validate", actor=p, target_type="provider", target_id=row.id,
                 details={"ok": out["ok"]})
    await session.commit()
    return out


async def catalog(ctx: ControlContext, session: AsyncSession, p: Principal, provider_id: str,
                  refresh: bool) -> list[dict[str, Any]]:
    """The models the account can serve, cached for five minutes (`refresh` skips the cache)."""
    row = await get_scoped(session, ProviderRow, p.org_id, provider_id, "provider")
    hit = ctx.catalog_cache.get(row.id)
    if hit and not refresh and time.monotonic() - hit[0] < CATALOG_TTL_S:
        return hit[1]
    _, adapter = await _with_adapter(ctx, row)
    try:
        infos = await asyncio.wait_for(adapter.list_models(), 30)
    except Exception as exc:
        raise Conflict(f"the provider's model list is unavailable ({type(exc).__name__})") from None
    finally:
        await adapter.aclose()
    entries = [{"id": m.id, "name": m.name or m.id, "kind": m.kind} for m in infos]
    ctx.catalog_cache[row.id] = (time.monotonic(), entries)
    return entries
