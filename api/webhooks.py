"""Webhook subscriptions and their delivery log (admin only; docs/webhooks.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from sohoa import webhooks
from sohoa.models import DocType

from .deps import AdminDep, ServicesDep, audit
from .problems import Problem

router = APIRouter(prefix="/v1", tags=["webhooks"])

# Ids are ours (wh-…, d-…); anything else cannot name one, and a NUL would be a 500 on PostgreSQL.
WebhookId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
DeliveryId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
NO_NUL = r"^[^\x00]*$"


class WebhookRequest(BaseModel):
    url: str = Field(max_length=2000, pattern=NO_NUL, examples=["https://portal.example.gov.vn/hooks/sohoa"],
                     description="where deliveries are POSTed: http:// or https://")
    events: list[webhooks.Event] = Field(list(webhooks.EVENTS), min_length=1, max_length=len(webhooks.EVENTS))
    doc_types: list[DocType] | None = Field(None, min_length=1, max_length=20,
                                            description="only results of these types; null: every type")
    label: str | None = Field(None, max_length=200, pattern=NO_NUL, description="whose receiver this is")


class WebhookInfo(BaseModel):
    id: str
    url: str
    events: list[str]
    doc_types: list[str] | None
    label: str | None
    cursor: int = Field(description="the last change planned for delivery (the change feed's cursor)")
    created_at: datetime
    revoked_at: datetime | None


class NewWebhook(WebhookInfo):
    secret: str = Field(description="the HMAC key of X-Sohoa-Signature; shown this once")


class AttemptInfo(BaseModel):
    at: datetime
    status_code: int | None = Field(description="the receiver's HTTP status; null when no answer came")
    error: str | None
    seconds: float


class DeliveryInfo(BaseModel):
    id: str = Field(description="sent as X-Sohoa-Delivery; receivers dedupe on it")
    change: int
    event: str
    result_code: str
    state: str = Field(description="pending, sending, delivered or failed")
    attempts: int = Field(description="attempts in the current round (an admin retry starts a new one)")
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptInfo] = Field(description="every POST made for this delivery, oldest first")


class DeliveryLog(BaseModel):
    total: int
    deliveries: list[DeliveryInfo]
    next_offset: int | None = Field(description="`offset` of the next page; null on the last one")


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _info(row) -> WebhookInfo:  # noqa: ANN001 - a WebhookRow
    return WebhookInfo(id=row.id, url=row.url, events=list(row.events), doc_types=row.doc_types, label=row.label,
                       cursor=row.cursor, created_at=_aware(row.created_at), revoked_at=_aware(row.revoked_at))


def _delivery(row, attempts=()) -> DeliveryInfo:  # noqa: ANN001 - a WebhookDeliveryRow and its attempts
    return DeliveryInfo(
        id=row.id, change=row.change_id, event=row.event, result_code=row.result_code, state=row.state,
        attempts=row.attempts, next_attempt_at=_aware(row.next_attempt_at), last_status=row.last_status,
        last_error=row.last_error, created_at=_aware(row.created_at), delivered_at=_aware(row.delivered_at),
        attempt_log=[AttemptInfo(at=_aware(a.at), status_code=a.status_code, error=a.error, seconds=a.seconds)
                     for a in attempts])


def _existing(svc, webhook_id: str):  # noqa: ANN001, ANN202
    row = webhooks.get(svc.sessions, webhook_id)
    if row is None:
        raise Problem(404, "webhook_not_found", f"no webhook {webhook_id}")
    return row


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=NewWebhook)
def create_webhook(body: WebhookRequest, svc: ServicesDep, caller: AdminDep) -> NewWebhook:
    """Subscribe a receiver. It hears of changes from now on (not the history before); the secret
    is in this answer only."""
    try:
        row, secret = webhooks.subscribe(svc.sessions, body.url, body.events, body.doc_types, body.label)
    except ValueError as exc:
        raise Problem(422, "invalid_webhook", str(exc)) from None
    audit(svc, caller, "create_webhook", row.id, events=row.events, doc_types=row.doc_types)
    return NewWebhook(**_info(row).model_dump(), secret=secret)


@router.get("/webhooks", response_model=list[WebhookInfo])
def list_webhooks(svc: ServicesDep, caller: AdminDep) -> list[WebhookInfo]:
    """Every subscription, revoked ones too (no secrets)."""
    return [_info(row) for row in webhooks.list_webhooks(svc.sessions)]


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_webhook(webhook_id: WebhookId, svc: ServicesDep, caller: AdminDep) -> Response:
    """Revoke a subscription: nothing more is sent to it; its log is kept."""
    if webhooks.unsubscribe(svc.sessions, webhook_id) is None:
        raise Problem(404, "webhook_not_found", f"no webhook {webhook_id}")
    audit(svc, caller, "revoke_webhook", webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryLog)
def delivery_log(
    webhook_id: WebhookId, svc: ServicesDep, caller: AdminDep,
    state: Annotated[str | None, Query(pattern="^(pending|sending|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryLog:
    """The delivery log: deliveries newest first, each with every attempt made."""
    _existing(svc, webhook_id)
    page = webhooks.deliveries(svc.sessions, webhook_id, limit, offset, state)
    return DeliveryLog(total=page.total, deliveries=[_delivery(d, a) for d, a in page.deliveries],
                       next_offset=offset + limit if offset + limit < page.total else None)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", response_model=DeliveryInfo,
             responses={409: {"description": "the delivery is not failed, or the subscription is revoked"}})
def retry_delivery(webhook_id: WebhookId, delivery_id: DeliveryId, svc: ServicesDep, caller: AdminDep) -> DeliveryInfo:
    """Send a failed delivery again: it is due at once, with a fresh round of attempts."""
    _existing(svc, webhook_id)
    try:
        row = webhooks.retry(svc.sessions, webhook_id, delivery_id)
    except webhooks.NotRetryable as exc:
        raise Problem(409, "delivery_not_retryable", str(exc)) from None
    if row is None:
        raise Problem(404, "delivery_not_found", f"no delivery {delivery_id} of webhook {webhook_id}")
    audit(svc, caller, "retry_webhook_delivery", delivery_id, webhook=webhook_id)
    if svc.worker is not None:
        svc.worker.wake_webhooks()  # embedded mode: now, not at the next tick
    return _delivery(row)
