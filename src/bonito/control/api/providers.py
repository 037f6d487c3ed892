"""/api/providers: connections to provider accounts; credentials go in, never out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from bonito.control.api.guards import Writable
from bonito.control.deps import Admin, CtxDep, Member, SessionDep, Viewer
from bonito.control.schemas.catalog import CatalogEntry, ProviderIn, ProviderOut, ProviderPatch, ValidationOut
from bonito.control.services import providers

router = APIRouter(prefix="/api/providers", tags=["providers"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProviderOut)
async def create(body: ProviderIn, user: Admin, _w: Writable, ctx: CtxDep, session: SessionDep) -> Any:
    """Connect a provider account; `credentials` has the fields of its type in bonito.yaml."""
    return await providers.create(ctx, session, user, body)


@router.get("", response_model=list[ProviderOut])
async def list_providers(user: Viewer, session: SessionDep) -> Any:
    return await providers.list_all(session, user)


@router.get("/{provider_id}", response_model=ProviderOut)
async def get(provider_id: str, user: Viewer, session: SessionDep) -> Any:
    return await providers.get(session, user, provider_id)


@router.patch("/{provider_id}", response_model=ProviderOut)
async def update(provider_id: str, body: ProviderPatch, user: Admin, _w: Writable, ctx: CtxDep,
                 session: SessionDep) -> Any:
    """Rename, or replace the credentials (all fields of the type, as on create)."""
    return await providers.update(ctx, session, user, provider_id, body)


@router.delete("/{provider_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(provider_id: str, user: Admin, _w: Writable, ctx: CtxDep, session: SessionDep) -> Response:
    """Disconnect; the provider's models go with it."""
    await providers.delete(ctx, session, user, provider_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{provider_id}/validate", response_model=ValidationOut)
async def validate(provider_id: str, user: Member, ctx: CtxDep, session: SessionDep) -> Any:
    """Check the stored credentials with a cheap real call to the provider."""
    return await providers.validate(ctx, session, user, provider_id)


@router.get("/{provider_id}/catalog", response_model=list[CatalogEntry])
async def catalog(provider_id: str, user: Viewer, ctx: CtxDep, session: SessionDep, refresh: bool = False) -> Any:
    """The models this account offers (cached for five minutes; `?refresh=true` asks again)."""
    return await providers.catalog(ctx, session, user, provider_id, refresh and user.can("member"))
