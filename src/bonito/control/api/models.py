"""/api/models: public model names bound to provider connections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from bonito.control.api.guards import Writable
from bonito.control.deps import Admin, SessionDep, Viewer
from bonito.control.schemas.catalog import ModelIn, ModelOut, ModelPatch
from bonito.control.services import models

router = APIRouter(prefix="/api/models", tags=["models"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ModelOut)
async def create(body: ModelIn, user: Admin, _w: Writable, session: SessionDep) -> Any:
    return await models.create(session, user, body)


@router.get("", response_model=list[ModelOut])
async def list_models(user: Viewer, session: SessionDep) -> Any:
    return await models.list_all(session, user)


@router.get("/{model_id}", response_model=ModelOut)
async def get(model_id: str, user: Viewer, session: SessionDep) -> Any:
    return await models.get(session, user, model_id)


@router.patch("/{model_id}", response_model=ModelOut)
async def update(model_id: str, body: ModelPatch, user: Admin, _w: Writable, session: SessionDep) -> Any:
    """Rename (alias), enable/disable, or override prices."""
    return await models.update(session, user, model_id, body)


@router.delete("/{model_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(model_id: str, user: Admin, _w: Writable, session: SessionDep) -> Response:
    await models.delete(session, user, model_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
