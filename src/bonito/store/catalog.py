"""What an org serves: provider connections, models, gateway keys, routing policies, gateway config.

`ControlState.version` goes up in the same transaction as every change, so each
replica notices with one cheap read and recompiles its gateway snapshot.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bonito.store import accounts as _accounts  # noqa: F401  (registers `orgs`, which these tables reference)
from bonito.store.base import Base
from bonito.store.types import PicoUSD


class ControlState(Base):
    __tablename__ = "control_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class ProviderRow(Base):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    secret_ref: Mapped[str] = mapped_column(Text)  # ciphertext (local) or a vault reference
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("org_id", "name"),)


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))  # the public name clients send
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    upstream_model: Mapped[str] = mapped_column(String(200))
    input_cost_per_mtok: Mapped[Decimal | None] = mapped_column(PicoUSD)
    output_cost_per_mtok: Mapped[Decimal | None] = mapped_column(PicoUSD)
    cached_input_cost_per_mtok: Mapped[Decimal | None] = mapped_column(PicoUSD)
    cache_write_cost_per_mtok: Mapped[Decimal | None] = mapped_column(PicoUSD)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("org_id", "name"), Index("ix_models_provider", "provider_id"))


class GatewayKeyRow(Base):
    __tablename__ = "gateway_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the plaintext
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_last4: Mapped[str] = mapped_column(String(4))
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    tokens_per_minute: Mapped[int | None] = mapped_column(Integer)
    allowed_models: Mapped[Any] = mapped_column(JSON)  # null | [names] | {"models": [...], "providers": [...]}
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tags: Mapped[dict[str, str] | None] = mapped_column(JSON)  # default tags of the key's requests
    cache: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # false: never cached

    __table_args__ = (Index("ix_gateway_keys_org", "org_id"),)


class RoutingPolicyRow(Base):
    __tablename__ = "routing_policies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(32))
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    retries: Mapped[int] = mapped_column(Integer, default=3)
    timeout_s: Mapped[float] = mapped_column(Float, default=30.0)
    breaker_failures: Mapped[int] = mapped_column(Integer, default=5)
    breaker_cooldown_s: Mapped[float] = mapped_column(Float, default=30.0)
    breaker_error_rate: Mapped[float | None] = mapped_column(Float)  # None: consecutive failures only
    breaker_window_s: Mapped[float] = mapped_column(Float, default=60.0, server_default=text("60"))
    breaker_min_requests: Mapped[int] = mapped_column(Integer, default=20, server_default=text("20"))
    # the route's fields without a column above (attempt_timeout_s, rules, smart, ...), as in bonito.yaml
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str | None] = mapped_column(String(16))
    key_last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("org_id", "name"),)


class GatewayConfigRow(Base):
    """Per-org gateway settings: enabled providers, default limits, default fallbacks."""

    __tablename__ = "gateway_configs"

    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
