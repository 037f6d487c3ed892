"""What agents send (usage records, heartbeats) and what admins see of them (status).

Ingest is idempotent per (org, record id): a record is stored under an id derived from both, so
a retried batch writes nothing twice and two orgs never collide. Records land with
`source = vpc_agent` in the same usage table (and rollups) as the shared gateway's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bonito.alerts.model import Alert, budget_alert
from bonito.control.context import ControlContext
from bonito.control.errors import Invalid
from bonito.control.schemas.common import ApiModel
from bonito.control.schemas.common import _check_text as check_text
from bonito.control.services.common import aware, now
from bonito.limits.base import Budget, BudgetCrossing
from bonito.store.agents import AgentRow
from bonito.store.catalog import GatewayKeyRow
from bonito.store.usage import insert_usage
from bonito.usage.record import UsageRecord

log = logging.getLogger("bonito.control")
SOURCE = "vpc_agent"
MAX_BATCH = 5_000
_RID = r"^[A-Za-z0-9_-]{1,64}$"
_BIG = 2**63 - 1  # counters are 64-bit columns


class IngestRecord(ApiModel):
    """One usage record as an agent sends it; fields the record does not have are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=_RID)
    request_id: str = Field(min_length=1, max_length=200)
    created_at: datetime
    key_id: str | None = Field(default=None, max_length=64)
    key_name: str | None = Field(default=None, max_length=200)
    model_requested: str | None = Field(default=None, max_length=200)
    model_used: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=200)
    upstream_model: str | None = Field(default=None, max_length=200)
    endpoint: str = Field(default="chat", max_length=32)
    stream: bool = False
    latency_ms: float = Field(default=0.0, ge=0, le=1e9)
    ttft_ms: float | None = Field(default=None, ge=0, le=1e9)
    error: str | None = Field(default=None, max_length=2000)
    attempts: int = Field(default=0, ge=0, le=1000)
    route: str | None = Field(default=None, max_length=200)
    decision: dict[str, Any] | None = None
    prompt_tokens: int = Field(default=0, ge=0, le=2**30)  # their sum is a 32-bit column
    completion_tokens: int = Field(default=0, ge=0, le=2**30)
    cost_usd: str = Field(default="0", pattern=r"^\d{1,6}(\.\d{1,18})?$")  # picodollars fit 64 bits
    status: int = Field(default=200, ge=100, le=599)
    cached_tokens: int = Field(default=0, ge=0, le=2**30)
    cache_write_tokens: int = Field(default=0, ge=0, le=2**30)
    reasoning_tokens: int = Field(default=0, ge=0, le=2**30)
    tags: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=32)
    request_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{1,32}$")
    cache: Literal["hit", "semantic-hit"] | None = None
    cache_saved_usd: str | None = Field(default=None, pattern=r"^\d{1,6}(\.\d{1,18})?$")

    @model_validator(mode="before")
    @classmethod
    def _safe_text(cls, data: Any) -> Any:
        """Checked once per batch in `parse_records` (walking every record's values cost more than the
        rest of the parse; a body orjson read with no `\\u0000` escape holds no unsafe text at all)."""
        return data


_INGEST_BATCH = TypeAdapter(list[IngestRecord])
_COPIED = tuple(n for n in IngestRecord.model_fields if n not in ("id", "cost_usd", "cache_saved_usd"))


class CrossingIn(ApiModel):
    """A budget threshold an agent's limiter saw passed (alerted here, once, like the gateway's own)."""

    scope: Literal["org", "key"]
    owner: str = Field(pattern=_RID)
    name: str = Field(max_length=200)
    period: Literal["daily", "weekly", "monthly"]
    period_id: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}(-[0-9]{2}w?)?$")
    cap_pico: int = Field(gt=0, le=10**30)
    hard: bool = True
    threshold: float = Field(gt=0, le=1_000_000)
    spend_pico: int = Field(ge=0, le=10**30)


Health = Annotated[str, Field(max_length=64)] | bool | None | dict[str, Annotated[str, Field(max_length=200)] | bool | None]
"""A provider's health: "ok" / "down" as the agent sends it (a flag or a small object accepted too)."""


class Heartbeat(ApiModel):
    """What an agent reports; only its id is required (`id` and `uptime` are accepted as names too)."""

    model_config = ConfigDict(extra="ignore")  # a newer agent may report more

    agent_id: str = Field(pattern=_RID, validation_alias=AliasChoices("agent_id", "id"))
    hostname: str = Field(default="", max_length=255)
    version: str = Field(default="", max_length=64)
    uptime_s: float = Field(default=0.0, ge=0, le=1e12, validation_alias=AliasChoices("uptime_s", "uptime"))
    requests: int = Field(default=0, ge=0, le=_BIG)
    errors: int = Field(default=0, ge=0, le=_BIG)
    providers: dict[str, Health] = Field(default_factory=dict, max_length=500)
    spool_depth: int = Field(default=0, ge=0, le=_BIG)
    spool_full: bool = False
    config_version: str | None = Field(default=None, max_length=128)
    config_error: str | None = Field(default=None, max_length=2000)
    budget_crossings: list[CrossingIn] = Field(default_factory=list, max_length=1000)


def stored_id(org_id: str, record_id: str) -> str:
    return hashlib.sha256(f"{org_id}:{record_id}".encode()).hexdigest()[:32]


def parse_records(org_id: str, payload: Any, *, text_checked: bool = False) -> list[UsageRecord]:
    """The usage records of an ingest body (`{"records": [...]}` or the list alone), owned by the token's org.
    `text_checked`: the body is known to hold no text a store refuses (see `IngestRecord._safe_text`)."""
    items = payload.get("records") if isinstance(payload, dict) else payload  # or a bare list
    if not isinstance(items, list):
        raise Invalid("records", "a list of usage records is required", where="body")
    if len(items) > MAX_BATCH:
        raise Invalid("records", f"at most {MAX_BATCH} records per batch", where="body")
    if not text_checked:
        for i, item in enumerate(items):
            try:
                check_text(item)
            except ValueError as exc:
                raise Invalid(f"records.{i}", str(exc), where="body") from None
    try:
        parsed = _INGEST_BATCH.validate_python(items)
    except ValidationError as exc:
        loc = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise Invalid(f"records.{loc}".rstrip("."), exc.errors()[0]["msg"], where="body") from None
    return [UsageRecord(**{n: getattr(rec, n) for n in _COPIED}, id=stored_id(org_id, rec.id), org_id=org_id,
                        source=SOURCE, cost_usd=Decimal(rec.cost_usd),
                        cache_saved_usd=None if rec.cache_saved_usd is None else Decimal(rec.cache_saved_usd))
            for rec in parsed]


async def ingest(engine: AsyncEngine, records: list[UsageRecord]) -> None:
    await insert_usage(engine, records)


async def heartbeat(session: AsyncSession, org_id: str, hb: Heartbeat) -> bool:
    """Record a heartbeat; True when the agent was reported offline and is now back."""
    t = now()
    row = await session.get(AgentRow, (org_id, hb.agent_id))
    returned = False
    if row is None:
        row = AgentRow(org_id=org_id, id=hb.agent_id, first_seen=t, offline_notified=False)
        session.add(row)
    elif row.offline_notified:
        returned, row.offline_notified = True, False
    row.hostname, row.version, row.uptime_s = hb.hostname, hb.version, hb.uptime_s
    row.requests, row.errors, row.spool_depth, row.spool_full = hb.requests, hb.errors, hb.spool_depth, hb.spool_full
    row.config_version, row.config_error, row.providers = hb.config_version, hb.config_error, hb.providers
    row.last_heartbeat = t
    await session.commit()
    return returned


@dataclasses.dataclass(frozen=True, slots=True)
class StatusBounds:
    """A heartbeat within `delayed_after_s` is connected; past `offline_after_s`, offline."""

    delayed_after_s: float = 120.0
    offline_after_s: float = 300.0

    def status(self, last: datetime, at: datetime) -> str:
        age = (at - last).total_seconds()
        return "connected" if age <= self.delayed_after_s else "delayed" if age <= self.offline_after_s \
            else "offline"


def as_dict(row: AgentRow, bounds: StatusBounds, at: datetime, *, with_org: bool = False) -> dict[str, Any]:
    last = aware(row.last_heartbeat) or at
    out: dict[str, Any] = {
        "id": row.id, "hostname": row.hostname, "version": row.version, "status": bounds.status(last, at),
        "last_heartbeat": last.isoformat(), "requests": row.requests, "errors": row.errors,
        "spool_depth": row.spool_depth, "spool_full": row.spool_full, "config_version": row.config_version,
        "config_error": row.config_error, "providers": row.providers or {}, "uptime_s": row.uptime_s,
    }
    if with_org:
        out = {"org_id": row.org_id, **out}
    return out


async def listing(session: AsyncSession, bounds: StatusBounds, org_id: str | None = None) -> list[dict[str, Any]]:
    q = select(AgentRow).order_by(AgentRow.org_id, AgentRow.last_heartbeat.desc())
    if org_id is not None:
        q = q.where(AgentRow.org_id == org_id)
    t = now()
    return [as_dict(r, bounds, t, with_org=org_id is None) for r in (await session.scalars(q)).all()]



async def budget_alerts(session: AsyncSession, org_id: str, crossings: list[CrossingIn]) -> list[Alert]:
    """The alerts for budget crossings an agent reported, for its own org's budgets only."""
    keys = {k for k in (await session.scalars(select(GatewayKeyRow.id).where(
        GatewayKeyRow.org_id == org_id, GatewayKeyRow.id.in_({c.owner for c in crossings})))).all()}
    out = []
    for c in crossings:
        if (c.scope == "org" and c.owner != org_id) or (c.scope == "key" and c.owner not in keys):
            continue
        budget = Budget(ledger=f"spend:{c.scope}:{c.owner}:{c.period}:{c.period_id}", scope=c.scope,
                        owner=c.owner, name=c.name, org_id=org_id, period=c.period, period_id=c.period_id,
                        period_end=0.0, cap_pico=c.cap_pico, hard=c.hard)
        out.append(budget_alert(BudgetCrossing(budget, c.threshold, c.spend_pico)))
    return out


def offline_alert(org_id: str, agent_id: str, hostname: str, last: datetime) -> Alert:
    return Alert(kind="agent", org_id=org_id, title=f"Agent {hostname} is offline",
                 body=f"The VPC agent {agent_id} on {hostname} has sent no heartbeat since {last.isoformat()}.",
                 dedupe_key=f"agent:offline:{org_id}:{agent_id}:{last.isoformat()}",
                 data={"agent_id": agent_id, "hostname": hostname, "status": "offline",
                       "last_heartbeat": last.isoformat()})


def back_online_alert(org_id: str, agent_id: str, hostname: str) -> Alert:
    t = now()
    return Alert(kind="agent", org_id=org_id, title=f"Agent {hostname} is connected again",
                 body=f"The VPC agent {agent_id} on {hostname} sends heartbeats again.",
                 dedupe_key=f"agent:back:{org_id}:{agent_id}:{t.isoformat()}",
                 data={"agent_id": agent_id, "hostname": hostname, "status": "connected"})


async def newly_offline(session: AsyncSession, bounds: StatusBounds) -> list[Alert]:
    """Alerts for agents past the offline bound not yet reported (one per outage, across replicas)."""
    cutoff = now() - timedelta(seconds=bounds.offline_after_s)
    rows = list((await session.scalars(select(AgentRow).where(
        AgentRow.offline_notified.is_(False), AgentRow.last_heartbeat < cutoff))).all())
    alerts = []
    for r in rows:
        claimed = await session.execute(update(AgentRow).where(
            AgentRow.org_id == r.org_id, AgentRow.id == r.id, AgentRow.offline_notified.is_(False))
            .values(offline_notified=True))
        if getattr(claimed, "rowcount", 0) == 1:  # another replica may have claimed it first
            alerts.append(offline_alert(r.org_id, r.id, r.hostname, aware(r.last_heartbeat) or now()))
    await session.commit()
    return alerts


async def watch_offline(ctx: ControlContext) -> None:
    """Run forever: notify each org's admins once when one of its agents goes offline."""
    b = StatusBounds(ctx.settings.agent_delayed_s, ctx.settings.agent_offline_s)
    while True:
        await asyncio.sleep(max(0.5, min(30.0, b.offline_after_s / 5)))
        try:
            async with ctx.sessions() as session:
                alerts = await newly_offline(session, b)
        except Exception as exc:
            log.warning("agent status not checked (%s)", type(exc).__name__)
            continue
        for alert in alerts:
            log.warning("%s", alert.title)
            if ctx.notify is not None:
                ctx.notify(alert)
