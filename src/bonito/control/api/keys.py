"""/api/gateway/keys: `bn-` keys for the gateway (the key is shown once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from bonito.control.api.guards import Writable
from bonito.control.deps import Member, SessionDep, Viewer
from bonito.control.schemas.keys import KeyCreatedOut, KeyIn, KeyOut, KeyPatch
from bonito.control.services import keys

router = APIRouter(prefix="/api/gateway/keys", tags=["gateway keys"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyCreatedOut)
async def create(body: KeyIn, user: Member, _w: Writable, session: SessionDep) -> Any:
    return await keys.create(session, user, body)


@router.get("", response_model=list[KeyOut])
async def list_keys(user: Viewer, session: SessionDep, include_revoked: bool = False) -> Any:
    return await keys.list_all(session, user, include_revoked)


@router.get("/{key_id}", response_model=KeyOut)
async def get(key_id: str, user: Viewer, session: SessionDep) -> Any:
    return await keys.get(session, user, key_id)


@router.patch("/{key_id}", response_model=KeyOut)
async def update(key_id: str, body: KeyPatch, user: Member, _w: Writable, session: SessionDep) -> Any:
    return await keys.update(session, user, key_id, body)


@router.post("/{key_id}/rotate", response_model=KeyCreatedOut)
async def rotate(key_id: str, user: Member, _w: Writable, session: SessionDep) -> Any:
    """A new secret for the key; the old one stops working at once."""
    return await keys.rotate(session, user, key_id)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke(key_id: str, user: Member, _w: Writable, session: SessionDep) -> Response:
    """Revoke: the gateway answers 401 to the key within two seconds."""
    await keys.revoke(session, user, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
