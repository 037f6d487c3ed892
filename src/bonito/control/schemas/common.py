"""Shared building blocks: input that every database accepts, ids, pages."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
PositiveLimit = Annotated[int, Field(gt=0, le=1_000_000_000)]

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _check_text(value: Any, path: str = "") -> None:
    """Reject what PostgreSQL or a UTF-8 encoder cannot store: NUL and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path or 'value'}: must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{path or 'value'}: must be valid Unicode text") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k, path)
            _check_text(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_text(v, f"{path}[{i}]")


class ApiModel(BaseModel):
    """Base of every request body: unknown fields refused, text safe for every store."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _safe_text(cls, data: Any) -> Any:
        _check_text(data)
        return data


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Deleted(BaseModel):
    id: str
    deleted: bool = True


class TimeWindow(BaseModel):
    start: datetime
    end: datetime | None
