"""Guards shared by routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from bonito.control.deps import CtxDep
from bonito.control.errors import Conflict


async def _writable(ctx: CtxDep) -> None:
    if ctx.config_mode:
        raise Conflict("this server runs from bonito.yaml (config-as-code): change the file instead")


Writable = Annotated[None, Depends(_writable)]
