"""Every table, imported in one place so Alembic sees the whole schema."""

from __future__ import annotations

from bonito.store.base import Base
from bonito.store.usage import UsageRow

metadata = Base.metadata

__all__ = ["Base", "UsageRow", "metadata"]
