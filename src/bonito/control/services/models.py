"""An org's models: public names bound to a provider connection, with optional price overrides."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.deps import Principal
from bonito.control.errors import Conflict, NotFound
from bonito.control.schemas.catalog import ModelIn, ModelPatch
from bonito.control.schemas.common import ID_RE
from bonito.control.services import audit
from bonito.control.services.common import bump_version, delete_scoped, get_scoped, new_id, now
from bonito.store.catalog import ModelRow, ProviderRow, RoutingPolicyRow


def as_dict(row: ModelRow) -> dict[str, Any]:
    def price(v: Any) -> float | None:
        return None if v is None else float(v)

    return {"id": row.id, "name": row.name, "provider_id": row.provider_id, "model": row.upstream_model,
            "input_cost_per_mtok": price(row.input_cost_per_mtok),
            "output_cost_per_mtok": price(row.output_cost_per_mtok),
            "cached_input_cost_per_mtok": price(row.cached_input_cost_per_mtok),
            "cache_write_cost_per_mtok": price(row.cache_write_cost_per_mtok), "enabled": row.enabled,
            "created_at": row.created_at}


async def _name_free(session: AsyncSession, org_id: str, name: str, except_id: str | None = None) -> None:
    found = await session.scalar(select(ModelRow.id).where(ModelRow.org_id == org_id, ModelRow.name == name))
    if found is not None and found != except_id:
        raise Conflict(f"a model named '{name}' already exists")
    if await session.scalar(select(RoutingPolicyRow.id).where(RoutingPolicyRow.org_id == org_id,
                                                              RoutingPolicyRow.name == name)):
        raise Conflict(f"'{name}' is already a routing policy's name")


async def _provider(session: AsyncSession, org_id: str, provider_id: str) -> None:
    if not ID_RE.match(provider_id) or await session.scalar(
            select(ProviderRow.id).where(ProviderRow.id == provider_id, ProviderRow.org_id == org_id)) is None:
        raise NotFound("provider_id: provider")


async def create(session: AsyncSession, p: Principal, body: ModelIn) -> dict[str, Any]:
    await _provider(session, p.org_id, body.provider_id)
    await _name_free(session, p.org_id, body.name)
    row = ModelRow(id=new_id("mdl"), org_id=p.org_id, name=body.name, provider_id=body.provider_id,
                   upstream_model=body.model, input_cost_per_mtok=body.input_cost_per_mtok,
                   output_cost_per_mtok=body.output_cost_per_mtok,
                   cached_input_cost_per_mtok=body.cached_input_cost_per_mtok,
                   cache_write_cost_per_mtok=body.cache_write_cost_per_mtok, enabled=body.enabled, created_at=now())
    session.add(row)
    await bump_version(session)
    audit.record(session, "model.create", actor=p, target_type="model", target_id=row.id,
                 details={"name": body.name, "provider_id": body.provider_id})
    await session.commit()
    return as_dict(row)


async def update(session: AsyncSession, p: Principal, model_id: str, body: ModelPatch) -> dict[str, Any]:
    row = await get_scoped(session, ModelRow, p.org_id, model_id, "model")
    changes = body.model_dump(exclude_unset=True)
    if body.name is not None and body.name != row.name:
        await _name_free(session, p.org_id, body.name, row.id)
        row.name = body.name
    if body.model is not None:
        row.upstream_model = body.model
    if "input_cost_per_mtok" in changes:
        row.input_cost_per_mtok = body.input_cost_per_mtok
    if "output_cost_per_mtok" in changes:
        row.output_cost_per_mtok = body.output_cost_per_mtok
    if "cached_input_cost_per_mtok" in changes:
        row.cached_input_cost_per_mtok = body.cached_input_cost_per_mtok
    if "cache_write_cost_per_mtok" in changes:
        row.cache_write_cost_per_mtok = body.cache_write_cost_per_mtok
    if body.enabled is not None:
        row.enabled = body.enabled
    await bump_version(session)
    audit.record(session, "model.update", actor=p, target_type="model", target_id=row.id,
                 details={"fields": sorted(changes)})
    await session.commit()
    return as_dict(row)


async def list_all(session: AsyncSession, p: Principal) -> list[dict[str, Any]]:
    rows = (await session.execute(select(ModelRow).where(ModelRow.org_id == p.org_id)
                                  .order_by(ModelRow.created_at, ModelRow.id))).scalars()
    return [as_dict(r) for r in rows]


async def get(session: AsyncSession, p: Principal, model_id: str) -> dict[str, Any]:
    return as_dict(await get_scoped(session, ModelRow, p.org_id, model_id, "model"))


async def delete(session: AsyncSession, p: Principal, model_id: str) -> None:
    await delete_scoped(session, ModelRow, p.org_id, model_id, "model", lambda row: audit.record(
        session, "model.delete", actor=p, target_type="model", target_id=model_id, details={"name": row.name}))
