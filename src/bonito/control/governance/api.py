"""/api/limits, /api/budgets, /api/alert-rules, /api/alert-webhooks, /api/notifications,
/api/notification-preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from bonito.alerts import inbox
from bonito.control.api.guards import Writable
from bonito.control.deps import Admin, CtxDep, SessionDep, Viewer
from bonito.control.errors import Invalid, NotFound
from bonito.control.governance import service
from bonito.control.governance.schemas import (
    AlertRuleIn,
    AlertRuleOut,
    AlertRulePatch,
    BudgetIn,
    BudgetOut,
    BudgetPatch,
    LimitsIn,
    LimitsOut,
    NotificationPage,
    PreferencesIO,
    ReadIn,
    ReadOut,
    UnreadOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookTestOut,
)
from bonito.control.services import audit
from bonito.control.services.common import aware, delete_scoped, get_scoped
from bonito.store.governance import AlertRuleRow, AlertWebhookRow, BudgetRow

router = APIRouter(prefix="/api", tags=["governance"])
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.get("/limits", response_model=LimitsOut)
async def get_limits(user: Viewer, ctx: CtxDep, session: SessionDep) -> Any:
    """The org's tier, its own caps per minute and the tier's (a key's own value wins over both)."""
    return await service.limits(session, ctx, user)


@router.put("/limits", response_model=LimitsOut)
async def put_limits(body: LimitsIn, user: Admin, _w: Writable, ctx: CtxDep, session: SessionDep) -> Any:
    return await service.set_limits(session, ctx, user, body)


@router.get("/budgets", response_model=list[BudgetOut])
async def list_budgets(user: Viewer, session: SessionDep) -> Any:
    return await service.list_budgets(session, user)


@router.post("/budgets", status_code=status.HTTP_201_CREATED, response_model=BudgetOut)
async def create_budget(body: BudgetIn, user: Admin, _w: Writable, session: SessionDep) -> Any:
    return await service.create_budget(session, user, body)


@router.get("/budgets/{budget_id}", response_model=BudgetOut)
async def get_budget(budget_id: str, user: Viewer, session: SessionDep) -> Any:
    return await service.budget_view(session, await get_scoped(session, BudgetRow, user.org_id, budget_id, "budget"))


@router.patch("/budgets/{budget_id}", response_model=BudgetOut)
async def update_budget(budget_id: str, body: BudgetPatch, user: Admin, _w: Writable, session: SessionDep) -> Any:
    return await service.update_budget(session, user, budget_id, body)


@router.delete("/budgets/{budget_id}", status_code=NO_CONTENT)
async def delete_budget(budget_id: str, user: Admin, _w: Writable, session: SessionDep) -> Response:
    await delete_scoped(session, BudgetRow, user.org_id, budget_id, "budget", lambda row: audit.record(
        session, "budget.delete", actor=user, target_type="budget", target_id=row.id))
    return Response(status_code=NO_CONTENT)


@router.get("/alert-rules", response_model=list[AlertRuleOut])
async def list_rules(user: Viewer, session: SessionDep) -> Any:
    rows = (await session.scalars(select(AlertRuleRow).where(AlertRuleRow.org_id == user.org_id)
                                  .order_by(AlertRuleRow.created_at))).all()
    return [service.rule_view(r) for r in rows]


@router.post("/alert-rules", status_code=status.HTTP_201_CREATED, response_model=AlertRuleOut)
async def create_rule(body: AlertRuleIn, user: Admin, session: SessionDep) -> Any:
    return await service.create_rule(session, user, body)


@router.patch("/alert-rules/{rule_id}", response_model=AlertRuleOut)
async def update_rule(rule_id: str, body: AlertRulePatch, user: Admin, session: SessionDep) -> Any:
    return await service.update_rule(session, user, rule_id, body)


@router.delete("/alert-rules/{rule_id}", status_code=NO_CONTENT)
async def delete_rule(rule_id: str, user: Admin, session: SessionDep) -> Response:
    await delete_scoped(session, AlertRuleRow, user.org_id, rule_id, "alert rule", lambda row: audit.record(
        session, "alert_rule.delete", actor=user, target_type="alert_rule", target_id=row.id))
    return Response(status_code=NO_CONTENT)


@router.get("/alert-webhooks", response_model=list[WebhookOut])
async def list_webhooks(user: Viewer, session: SessionDep) -> Any:
    return (await session.scalars(select(AlertWebhookRow).where(AlertWebhookRow.org_id == user.org_id)
                                  .order_by(AlertWebhookRow.created_at))).all()


@router.post("/alert-webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookCreatedOut)
async def create_webhook(body: WebhookIn, user: Admin, ctx: CtxDep, session: SessionDep) -> Any:
    """Alerts are POSTed here signed: X-Bonito-Signature = sha256=HMAC-SHA256(secret, "<ts>.<body>")."""
    return await service.create_webhook(session, ctx, user, body)


@router.post("/alert-webhooks/{webhook_id}/test", response_model=WebhookTestOut)
async def test_webhook(webhook_id: str, user: Admin, ctx: CtxDep, session: SessionDep) -> Any:
    """Send a signed `alert.test` event now (one attempt); `delivered` says whether it answered 2xx."""
    return await service.test_webhook(session, ctx, user, webhook_id)


@router.delete("/alert-webhooks/{webhook_id}", status_code=NO_CONTENT)
async def delete_webhook(webhook_id: str, user: Admin, session: SessionDep) -> Response:
    await delete_scoped(session, AlertWebhookRow, user.org_id, webhook_id, "webhook", lambda row: audit.record(
        session, "webhook.delete", actor=user, target_type="alert_webhook", target_id=row.id))
    return Response(status_code=NO_CONTENT)


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(user: Viewer, session: SessionDep, unread: bool = False,
                             limit: Annotated[int, Query(gt=0, le=200)] = 50,
                             cursor: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    before = None
    if cursor:
        try:
            before = aware(datetime.fromisoformat(cursor))
        except ValueError:
            raise Invalid("cursor", "not a cursor from a previous page", where="query") from None
    rows = await inbox.listing(session, user.org_id, user.user_id, unread_only=unread, limit=limit + 1,
                               before=before)
    items = [{"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "data": n.data, "read": read,
              "created_at": aware(n.created_at)} for n, read in rows[:limit]]
    last = aware(rows[limit - 1][0].created_at) if len(rows) > limit else None
    return {"items": items, "next_cursor": last.isoformat() if last else None}


@router.get("/notifications/unread-count", response_model=UnreadOut)
async def unread_count(user: Viewer, session: SessionDep) -> Any:
    return {"unread": await inbox.unread_count(session, user.org_id, user.user_id)}


@router.post("/notifications/read", response_model=ReadOut)
async def mark_read(body: ReadIn, user: Viewer, session: SessionDep) -> Any:
    """Mark the given notifications read (all of them when `ids` is omitted)."""
    return {"marked": await inbox.mark_read(session, user.org_id, user.user_id, body.ids)}


@router.post("/notifications/{notification_id}/read", response_model=ReadOut)
async def mark_one_read(notification_id: str, user: Viewer, session: SessionDep) -> Any:
    if not await inbox.exists(session, user.org_id, notification_id):
        raise NotFound("notification")
    return {"marked": await inbox.mark_read(session, user.org_id, user.user_id, [notification_id])}


@router.get("/notification-preferences", response_model=PreferencesIO)
async def get_preferences(user: Viewer, session: SessionDep) -> Any:
    p = await inbox.preferences(session, user.user_id, user.org_id)
    return {"email": p.email, "in_app": p.in_app, "weekly_digest": p.weekly_digest, "muted_kinds": p.muted_kinds}


@router.put("/notification-preferences", response_model=PreferencesIO)
async def put_preferences(body: PreferencesIO, user: Viewer, session: SessionDep) -> Any:
    prefs = inbox.Preferences(body.email, body.in_app, body.weekly_digest, tuple(body.muted_kinds))
    await inbox.save_preferences(session, user.user_id, user.org_id, prefs)
    return body
