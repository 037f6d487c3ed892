"""What the cost reports need besides usage: the org's models (with prices), providers and keys —
from the database in full mode, from `bonito.yaml` (the serving snapshot) in config mode."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bonito.control.context import ControlContext
from bonito.control.services.common import aware
from bonito.costs.recommend import Inventory, PricedModel
from bonito.store.catalog import GatewayKeyRow, ModelRow, ProviderRow


async def inventory(session: AsyncSession, ctx: ControlContext, org_id: str) -> Inventory:
    snap = ctx.get_snapshot()
    models = [PricedModel(m.name, m.upstream_model, m.provider_type, m.price)
              for m in snap.catalog(org_id).models.values()]
    if ctx.config_mode:
        used = {m.provider_id for m in snap.catalog(org_id).models.values()}
        keys: list[tuple[str, str, datetime | None]] = [(k.id, k.name, None) for k in snap.keys.values() if k.org_id == org_id and k.route is None]
        providers = [(pid, pid, 1 if pid in used else 0) for pid in snap.providers]
        return Inventory(models, providers, keys)
    published = dict((await session.execute(
        select(ModelRow.provider_id, func.count()).where(ModelRow.org_id == org_id, ModelRow.enabled.is_(True))
        .group_by(ModelRow.provider_id))).all())
    providers = [(pid, name, int(published.get(pid, 0))) for pid, name in (await session.execute(
        select(ProviderRow.id, ProviderRow.name).where(ProviderRow.org_id == org_id))).all()]
    keys = [(kid, name, aware(created)) for kid, name, created in (await session.execute(
        select(GatewayKeyRow.id, GatewayKeyRow.name, GatewayKeyRow.created_at).where(
            GatewayKeyRow.org_id == org_id, GatewayKeyRow.revoked_at.is_(None)))).all()]
    return Inventory(models, providers, keys)
