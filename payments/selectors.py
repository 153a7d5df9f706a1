"""Reads for payments, always scoped to a merchant (except the sweeper's id lists,
which hand out ids only)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from core.exceptions import NotFound
from merchants.models import Merchant
from payments.models import (
    DeliveryStatus,
    InboundEvent,
    PaymentRequest,
    SlipCheck,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

INBOUND_SWEEP_AFTER = dt.timedelta(minutes=1)


def payment_request_list(
    *, merchant: Merchant, is_test: bool | None = None
) -> QuerySet[PaymentRequest]:
    queryset = PaymentRequest.objects.for_merchant(merchant).select_related("account")
    if is_test is not None:
        queryset = queryset.filter(is_test=is_test)
    return queryset


def payment_request_get(
    *, merchant: Merchant, payment_request_id: int
) -> PaymentRequest:
    return get_object_or_404(
        payment_request_list(merchant=merchant), pk=payment_request_id
    )


def payment_request_detail(
    *, merchant: Merchant, payment_request_id: int
) -> PaymentRequest:
    """One request with everything its page shows."""
    queryset = (
        payment_request_list(merchant=merchant)
        .select_related("flag_resolved_by")
        .prefetch_related(
            "bakong_transactions",
            "checks",
            "refunds__created_by",
            Prefetch(
                "webhook_deliveries",
                queryset=WebhookDelivery.objects.select_related("endpoint").order_by(
                    "-created_at", "-pk"
                ),
            ),
        )
    )
    return get_object_or_404(queryset, pk=payment_request_id)


def payment_request_by_md5(
    *, merchant: Merchant, md5: str, is_test: bool | None = None
) -> PaymentRequest:
    """The merchant's request with this md5 (in the key's mode), else NotFound."""
    found = (
        payment_request_list(merchant=merchant, is_test=is_test)
        .filter(md5=(md5 or "").strip().lower())
        .first()
    )
    if found is None:
        raise NotFound("no payment request with this md5", field="md5")
    return found


def payment_request_by_order(
    *, merchant: Merchant, order_id: str, is_test: bool | None = None
) -> PaymentRequest:
    found = (
        payment_request_list(merchant=merchant, is_test=is_test)
        .filter(order_id=(order_id or "").strip())
        .exclude(order_id="")
        .first()
    )
    if found is None:
        raise NotFound("no payment request with this order_id", field="order_id")
    return found


def slip_check_list(*, merchant: Merchant) -> QuerySet[SlipCheck]:
    """The merchant's slip checks, newest first, with who made them."""
    return SlipCheck.objects.for_merchant(merchant).select_related(
        "payment_request", "user", "api_key"
    )


def webhook_endpoint_list(*, merchant: Merchant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_merchant(merchant)


def webhook_endpoint_get(*, merchant: Merchant, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(webhook_endpoint_list(merchant=merchant), pk=endpoint_id)


def webhook_delivery_list(
    *, merchant: Merchant, endpoint: WebhookEndpoint | None = None
) -> QuerySet[WebhookDelivery]:
    queryset = (
        WebhookDelivery.objects.for_merchant(merchant)
        .select_related("endpoint", "payment_request")
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-number"))
        )
    )
    if endpoint is not None:
        queryset = queryset.filter(endpoint=endpoint)
    return queryset


def webhook_delivery_ids_due(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Deliveries whose next attempt has come (the sweeper's work list)."""
    return list(
        WebhookDelivery.objects.filter(
            status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def inbound_event_ids_unprocessed(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Inbound events stored a while ago and still not processed."""
    return list(
        InboundEvent.objects.filter(
            status=InboundEvent.Status.RECEIVED,
            received_at__lte=now - INBOUND_SWEEP_AFTER,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
