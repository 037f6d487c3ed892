"""VPC agents: the org tokens they authenticate with (kept as SHA-256 hashes) and what each
agent last reported in its heartbeat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bonito.store.base import Base


class AgentTokenRow(Base):
    __tablename__ = "agent_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the plaintext
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # end of a rotation overlap
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_agent_tokens_org", "org_id"),)


class AgentRow(Base):
    """One agent process as it last reported itself (its id is kept in its state dir)."""

    __tablename__ = "agents"

    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    uptime_s: Mapped[float] = mapped_column(Float, default=0.0)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    spool_depth: Mapped[int] = mapped_column(BigInteger, default=0)
    spool_full: Mapped[bool] = mapped_column(Boolean, default=False)
    config_version: Mapped[str | None] = mapped_column(String(128))
    config_error: Mapped[str | None] = mapped_column(Text)
    providers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_heartbeat: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    offline_notified: Mapped[bool] = mapped_column(Boolean, default=False)  # one notification per outage
