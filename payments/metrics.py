"""Payment gauges for /metrics: Bakong checks due and how late the oldest is, and
webhooks that failed (out to shops, in from providers). Deployment-wide counts
over indexed columns, never a merchant's data."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from payments.models import (
    DeliveryStatus,
    InboundEvent,
    PaymentRequest,
    PaymentStatus,
    WebhookDelivery,
)


def payment_metrics() -> Iterator[Metric]:
    now = timezone.now()
    due = PaymentRequest.objects.filter(
        status=PaymentStatus.PENDING, next_check_at__lte=now
    ).aggregate(count=Count("pk"), oldest=Min("next_check_at"))
    yield GaugeMetricFamily(
        "tonle_payment_checks_due",
        "Pending KHQR payments whose next Bakong check is due now",
        value=due["count"],
    )
    lag = (now - due["oldest"]).total_seconds() if due["oldest"] else 0.0
    yield GaugeMetricFamily(
        "tonle_poll_lag_seconds",
        "How long the most overdue Bakong check has waited past its time",
        value=lag,
    )
    deliveries = GaugeMetricFamily(
        "tonle_webhook_deliveries",
        "Webhook deliveries to shops not delivered, by status",
        labels=["status"],
    )
    counts = dict(
        WebhookDelivery.objects.filter(
            status__in=[
                DeliveryStatus.PENDING,
                DeliveryStatus.FAILED,
                DeliveryStatus.DEAD,
            ]
        )
        .order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.DEAD):
        deliveries.add_metric([status.value], counts.get(status.value, 0))
    yield deliveries
    inbound = GaugeMetricFamily(
        "tonle_inbound_webhooks",
        "Webhooks received from providers and banks not applied, by status",
        labels=["status"],
    )
    counts = dict(
        InboundEvent.objects.filter(
            status__in=[InboundEvent.Status.RECEIVED, InboundEvent.Status.FAILED]
        )
        .order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    for status in (InboundEvent.Status.RECEIVED, InboundEvent.Status.FAILED):
        inbound.add_metric([status.value], counts.get(status.value, 0))
    yield inbound
