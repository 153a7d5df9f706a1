"""Webhooks to the merchant: one delivery row per endpoint and event (written in the
same transaction as the payment it reports), signed attempts with exponential
backoff that honours the shop's Retry-After, a log of every attempt, and manual
redelivery. A 410 Gone disables the endpoint. The HTTP (signing, the address checks,
pinning) is payments.clients.merchant_webhooks'.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

import httpx
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.exceptions import Conflict, InvalidInput, NotFound, TransientError
from core.http import HttpStatusError
from core.money import amount_to_wire
from core.retry import backoff_seconds
from core.tasks import enqueue_on_commit
from merchants.models import Merchant
from merchants.services import audit_event_record
from payments.clients.merchant_webhooks import (
    DestinationRefused,
    MerchantWebhookClient,
    Resolver,
    WebhookAnswer,
)
from payments.models import (
    DeliveryStatus,
    PaymentRequest,
    Refund,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from payments.services.webhook_endpoints import EVENTS, endpoint_signing_secrets

logger = logging.getLogger("tonle.webhooks")

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 6 * 3600.0
# A shop's Retry-After is honoured up to this; past it, the shop is asking for more
# than a delivery's whole series of attempts would take.
RETRY_AFTER_CAP_SECONDS = BACKOFF_CAP_SECONDS
CLAIM_SECONDS = 120
ERROR_CHARS = 300


def _iso(instant: dt.datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def payment_payload(payment_request: PaymentRequest) -> dict[str, Any]:
    """The `transaction.paid` body (the KHQR gateways' shape; amounts as text)."""
    currency = payment_request.paid_currency or payment_request.currency
    return {
        "event": "transaction.paid",
        "md5": payment_request.md5,
        "amount": amount_to_wire(
            payment_request.paid_amount
            if payment_request.paid_amount is not None
            else payment_request.amount,
            currency,
        ),
        "currency": currency,
        "bill_number": payment_request.bill_number,
        "paid_at": _iso(payment_request.paid_at),
        "transaction_id": payment_request.bakong_hash,
        "external_order_id": payment_request.order_id,
    }


def refund_payload(refund: Refund) -> dict[str, Any]:
    payment_request = refund.payment_request
    return {
        "event": "transaction.refunded",
        "md5": payment_request.md5,
        "amount": amount_to_wire(refund.amount, refund.currency),
        "currency": refund.currency,
        "refunded_total": amount_to_wire(
            payment_request.refunded_amount, refund.currency
        ),
        "status": payment_request.status,
        "bank_reference": refund.bank_reference,
        "bill_number": payment_request.bill_number,
        "refunded_at": _iso(refund.created_at),
        "transaction_id": payment_request.bakong_hash,
        "external_order_id": payment_request.order_id,
    }


def webhook_deliveries_enqueue(
    *,
    payment_request: PaymentRequest,
    event: str,
    refund: Refund | None = None,
) -> list[WebhookDelivery]:
    """One delivery per active endpoint that wants the event, written in the caller's
    transaction (so a payment and its notification commit together) and sent after
    commit; the sweeper resends any whose message was lost."""
    if event not in EVENTS:
        raise InvalidInput(f"event: {event!r} is not known", field="event")
    if refund is not None:
        payload, key = refund_payload(refund), f"{event}:refund:{refund.pk}"
    else:
        payload, key = (
            payment_payload(payment_request),
            f"{event}:request:{payment_request.pk}",
        )
    created = []
    endpoints = WebhookEndpoint.objects.for_merchant(payment_request.merchant).filter(
        is_active=True
    )
    now = timezone.now()
    for endpoint in endpoints:
        if endpoint.events and event not in endpoint.events:
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    merchant=payment_request.merchant,
                    endpoint=endpoint,
                    payment_request=payment_request,
                    refund=refund,
                    event=event,
                    event_key=key,
                    payload=payload,
                    next_attempt_at=now,
                )
        except IntegrityError:
            continue  # this event was already queued for this endpoint
        created.append(delivery)
    if created:
        from payments.tasks import deliver_webhook

        for delivery in created:
            enqueue_on_commit(deliver_webhook, delivery.pk)
    return created


def _claim(delivery_id: int, now: dt.datetime) -> WebhookDelivery | None:
    """Take the delivery for one attempt (a conditional update), so two workers never
    send the same attempt."""
    due = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
        next_attempt_at__lte=now,
    )
    claimed = due.update(next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))
    if not claimed:
        return None
    return (
        WebhookDelivery.objects.select_related("endpoint", "merchant")
        .filter(pk=delivery_id)
        .first()
    )


def _body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _answer_error(answer: WebhookAnswer) -> str:
    if 300 <= answer.status_code < 400:
        target = answer.location[:150] or "?"
        return (
            f"answered {answer.status_code} (redirect to {target}); redirects are "
            "not followed"
        )
    if answer.status_code >= 400:
        return f"answered {answer.status_code}"
    return ""


@transaction.atomic
def _dead_for_disabled_endpoint(delivery: WebhookDelivery) -> WebhookDelivery:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEAD,
        next_attempt_at=None,
        last_error="the endpoint is disabled",
    )
    delivery.refresh_from_db()
    return delivery


def webhook_delivery_attempt(
    *,
    delivery_id: int,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver | None = None,
) -> WebhookDelivery | None:
    """Send one signed attempt of a due delivery and log it; schedule the next try
    with exponential backoff (never sooner than the shop's Retry-After), give up
    after MAX_ATTEMPTS, disable the endpoint on 410. A delivery that is not due (or
    already taken) is left alone: None."""
    delivery = _claim(delivery_id, timezone.now())
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return _dead_for_disabled_endpoint(delivery)
    number = delivery.attempt_log.count() + 1
    status_code: int | None = None
    response_text = error = ""
    retry_after: float | None = None
    started = time.monotonic()
    try:
        with MerchantWebhookClient(
            url=endpoint.url, transport=transport, resolver=resolver
        ) as client:
            answer = client.post_event(
                body=_body_of(delivery.payload),
                secrets=endpoint_signing_secrets(endpoint),
                delivery_id=str(delivery.delivery_id),
                event=delivery.event,
            )
        status_code, response_text = answer.status_code, answer.body
        error = _answer_error(answer)
    except HttpStatusError as exc:  # 429 and 5xx, with the shop's Retry-After
        status_code, response_text = exc.status_code, exc.body
        retry_after = exc.retry_after
        error = f"answered {exc.status_code}" + (
            f" (Retry-After {retry_after:g} s)" if retry_after is not None else ""
        )
    except DestinationRefused as exc:
        error = exc.message
    except TransientError as exc:  # timeouts, connection errors, DNS
        error = exc.message
    return _record_attempt(
        delivery=delivery,
        number=number,
        status_code=status_code,
        response_text=response_text,
        error=error[:ERROR_CHARS],
        retry_after=retry_after,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def retry_delay_seconds(*, attempts: int, retry_after: float | None) -> float:
    """The wait before the next attempt: exponential with jitter, and no sooner than
    the shop's Retry-After (itself capped)."""
    if retry_after is not None:
        retry_after = min(max(0.0, retry_after), RETRY_AFTER_CAP_SECONDS)
    return backoff_seconds(
        attempt=attempts - 1,
        base=BACKOFF_BASE_SECONDS,
        cap=BACKOFF_CAP_SECONDS,
        retry_after=retry_after,
    )


@transaction.atomic
def _record_attempt(
    *,
    delivery: WebhookDelivery,
    number: int,
    status_code: int | None,
    response_text: str,
    error: str,
    retry_after: float | None,
    duration_ms: int,
) -> WebhookDelivery:
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        status_code=status_code,
        response_body=response_text,
        error=error,
        duration_ms=duration_ms,
    )
    now = timezone.now()
    attempts = delivery.attempts + 1
    updates: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
    }
    if status_code is not None and 200 <= status_code < 300:
        updates.update(
            status=DeliveryStatus.SUCCEEDED, delivered_at=now, next_attempt_at=None
        )
        event = "webhooks.delivered"
    elif status_code == 410:
        updates.update(status=DeliveryStatus.DEAD, next_attempt_at=None)
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
            is_active=False,
            disabled_reason=f"the endpoint answered 410 Gone on {now:%Y-%m-%d %H:%M}",
        )
        audit_event_record(
            merchant=delivery.merchant,
            action="webhook_endpoint.disabled",
            obj=delivery.endpoint,
            actor_label="webhooks",
            details={"reason": "410 Gone", "delivery": str(delivery.delivery_id)},
        )
        event = "webhooks.gone"
    elif attempts >= MAX_ATTEMPTS:
        updates.update(status=DeliveryStatus.DEAD, next_attempt_at=None)
        event = "webhooks.gave_up"
    else:
        delay = retry_delay_seconds(attempts=attempts, retry_after=retry_after)
        updates.update(
            status=DeliveryStatus.FAILED,
            next_attempt_at=now + dt.timedelta(seconds=delay),
        )
        event = "webhooks.retry"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**updates)
    delivery.refresh_from_db()
    logger.info(
        event,
        extra={
            "delivery": str(delivery.delivery_id),
            "attempt": number,
            "status": status_code,
            "error": error,
        },
    )
    return delivery


@transaction.atomic
def webhook_delivery_redeliver(
    *, merchant: Merchant, delivery_id: int, actor: Any = None
) -> WebhookDelivery:
    """Send a delivery again now, with a fresh series of attempts (the log keeps
    every earlier one)."""
    delivery = (
        WebhookDelivery.objects.for_merchant(merchant)
        .select_for_update()
        .select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise NotFound(gettext_noop("no such webhook delivery"))
    if not delivery.endpoint.is_active:
        raise Conflict(
            gettext_noop("the endpoint is disabled: enable it before redelivering"),
            field="endpoint",
        )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
    )
    delivery.refresh_from_db()
    audit_event_record(
        merchant=merchant,
        action="webhook_delivery.redelivered",
        obj=delivery,
        actor=actor,
        details={"delivery": str(delivery.delivery_id), "event": delivery.event},
    )
    from payments.tasks import deliver_webhook

    enqueue_on_commit(deliver_webhook, delivery.pk)
    return delivery
