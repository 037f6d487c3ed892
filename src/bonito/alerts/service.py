"""The alert service: takes alerts (budget crossings from the limiter, rules evaluated from
usage on a timer, the weekly digest), stores each once as an in-app notification and delivers
it by email and signed webhook. Runs beside the gateway, never on the request path.

Every replica runs one. Storing the notification is the once-only step: the
replica whose insert wins delivers; the others see the duplicate and stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bonito.alerts import inbox
from bonito.alerts.evaluate import RateRule, digest_due, evaluate_rate_rule, utc_now, weekly_digests
from bonito.alerts.mail import send_email, smtp_from_env
from bonito.alerts.model import CHANNELS, Alert, budget_alert
from bonito.alerts.webhook import post_webhook
from bonito.costs.alerts import KIND as FORECAST_KIND
from bonito.costs.alerts import forecast_alerts
from bonito.limits.base import BudgetCrossing
from bonito.store.governance import AlertRuleRow, AlertWebhookRow

if TYPE_CHECKING:
    from bonito.secrets.backend import SecretBackend
    from bonito.snapshot import Snapshot

log = logging.getLogger("bonito.alerts")
QUEUE_BOUND = 10_000


class AlertService:
    def __init__(self, engine: AsyncEngine, get_snapshot: Callable[[], Snapshot], *,
                 secrets: Callable[[], SecretBackend] | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._snapshot = get_snapshot
        self._secrets = secrets
        self._clock = clock
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(QUEUE_BOUND)
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None
        self.delivered: deque[tuple[str, str]] = deque(maxlen=200)  # (channel, dedupe key), newest last

    # -- intake -----------------------------------------------------------
    def budget_crossed(self, crossing: BudgetCrossing) -> None:
        """The limiter's listener: never blocks the request that crossed."""
        self.submit(budget_alert(crossing))

    def submit(self, alert: Alert) -> None:
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            log.error("alert queue full; dropped %s", alert.dedupe_key)

    # -- lifecycle --------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._deliver_loop(), name="bonito-alerts"),
                       asyncio.create_task(self._evaluate_loop(), name="bonito-alert-rules")]

    async def close(self, timeout_s: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._queue.join()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._http is not None:
            await self._http.close()

    async def _deliver_loop(self) -> None:
        while True:
            alert = await self._queue.get()
            try:
                await self.deliver(alert)
            except Exception:
                log.exception("alert %s could not be delivered", alert.dedupe_key)
            finally:
                self._queue.task_done()

    async def _evaluate_loop(self) -> None:
        while True:
            await asyncio.sleep(self._snapshot().alerts.evaluate_every_s)
            try:
                for alert in await self.evaluate():
                    self.submit(alert)
            except Exception as exc:
                log.warning("alert rules not evaluated: %s", exc or type(exc).__name__)

    # -- evaluation -------------------------------------------------------
    async def evaluate(self) -> list[Alert]:
        """Rate rules from bonito.yaml and the database, and the weekly digest when due."""
        now = self._clock()
        cfg = self._snapshot().alerts
        rules = [RateRule("config", kind, r.threshold, r.window_minutes, r.min_requests, frozenset(CHANNELS))
                 for kind, r in (("error_rate", cfg.error_rate), ("latency", cfg.latency)) if r is not None]
        async with self._sessions() as session:
            forecast_rules = []
            for row in (await session.scalars(select(AlertRuleRow).where(
                    AlertRuleRow.enabled.is_(True), AlertRuleRow.kind != "budget"))).all():
                if row.kind == FORECAST_KIND:
                    forecast_rules.append(row)
                    continue
                rules.append(RateRule(row.id, row.kind, row.threshold, row.window_minutes, row.min_requests,
                                      frozenset(row.channels), row.org_id))
            alerts = [a for rule in rules for a in await evaluate_rate_rule(session, rule, now)]
            if forecast_rules:
                alerts += await forecast_alerts(session, forecast_rules, now)
            if digest_due(now):
                alerts += await weekly_digests(session, now)
        return alerts

    # -- delivery ---------------------------------------------------------
    async def deliver(self, alert: Alert) -> None:
        channels = await self._channels(alert)
        try:
            async with self._sessions() as session:
                notification_id = await inbox.record(session, alert)
        except Exception as exc:  # no database: deliver anyway rather than lose the alert
            log.warning("alert %s not stored (%s); delivering anyway", alert.dedupe_key, type(exc).__name__)
            notification_id = f"ntf_{abs(hash(alert.dedupe_key)):x}"
        if notification_id is None:
            return  # another replica (or an earlier run) already has it
        self.delivered.append(("in_app", alert.dedupe_key))
        log.info("alert: %s", alert.title)
        jobs = []
        if "email" in channels:
            jobs.append(self._email(alert))
        if "webhook" in channels:
            jobs += [self._webhook(url, secret, alert, notification_id)
                     for url, secret in await self._webhooks(alert.org_id)]
        for result in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(result, Exception):
                log.warning("alert %s: %s", alert.dedupe_key, result)

    async def _channels(self, alert: Alert) -> frozenset[str]:
        """A budget crossing goes where bonito.yaml's thresholds and the org's budget rules send it."""
        if alert.kind != "budget":
            return alert.channels
        threshold = float(alert.data.get("threshold_percent", 0))
        channels: set[str] = set()
        if threshold in self._snapshot().alerts.budget_thresholds:
            channels.update(CHANNELS)
        with contextlib.suppress(Exception):
            async with self._sessions() as session:
                for row in (await session.scalars(select(AlertRuleRow).where(
                        AlertRuleRow.org_id == alert.org_id, AlertRuleRow.kind == "budget",
                        AlertRuleRow.enabled.is_(True)))).all():
                    if abs(row.threshold - threshold) < 1e-9:
                        channels.update(row.channels)
        return frozenset(channels)

    async def _email(self, alert: Alert) -> None:
        cfg = self._snapshot().alerts.email
        smtp = cfg.smtp if cfg is not None else smtp_from_env()
        if smtp is None:
            return
        to = list(cfg.to) if cfg is not None else []
        with contextlib.suppress(Exception):
            async with self._sessions() as session:
                to += [e for e in await inbox.member_emails(session, alert.org_id, alert.kind) if e not in to]
        if not to:
            return
        await send_email(smtp, to, f"[Bonito] {alert.title}", alert.body)
        self.delivered.append(("email", alert.dedupe_key))

    async def _webhooks(self, org_id: str) -> list[tuple[str, str]]:
        hooks = [(w.url, w.secret) for w in self._snapshot().alerts.webhooks]
        try:
            async with self._sessions() as session:
                rows = (await session.scalars(select(AlertWebhookRow).where(AlertWebhookRow.org_id == org_id))).all()
            if rows and self._secrets is not None:
                backend = self._secrets()
                for row in rows:
                    hooks.append((row.url, (await backend.get(f"webhooks/{row.id}", row.secret_ref)).decode()))
        except Exception as exc:
            log.warning("org webhooks not loaded: %s", type(exc).__name__)
        return hooks

    async def _webhook(self, url: str, secret: str, alert: Alert, notification_id: str) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        payload: dict[str, Any] = alert.payload(notification_id)
        await post_webhook(self._http, url, secret, payload, f"alert.{alert.kind}")
        self.delivered.append(("webhook", alert.dedupe_key))
