"""Celery tasks for payments: thin wrappers, ids in, one service each.

Tasks import the services; a service that enqueues a task imports it where it
enqueues, so importing a service never loads this module."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.exceptions import TransientError
from core.retry import backoff_seconds
from payments import selectors
from payments.models import DeliveryStatus
from payments.services import polling, webhook_deliveries, webhooks_in

WEBHOOK_COUNTDOWN_MAX_SECONDS = 3600
POLL_MAX_RETRIES = 3


@shared_task(
    name="payments.deliver_webhook", bind=True, acks_late=True, ignore_result=True
)
def deliver_webhook(self, delivery_id: int) -> None:
    """One attempt of a due delivery; the next one is scheduled from the row."""
    delivery = webhook_deliveries.webhook_delivery_attempt(delivery_id=delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.FAILED:
        return
    if delivery.next_attempt_at is not None:
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        # short waits are kept by the broker; long ones are left to the sweeper
        if wait <= WEBHOOK_COUNTDOWN_MAX_SECONDS:
            deliver_webhook.apply_async((delivery_id,), countdown=max(0.0, wait))


@shared_task(
    name="payments.process_inbound_event",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=8,
)
def process_inbound_event(self, inbound_event_id: int) -> None:
    """Apply one stored inbound webhook; a replayed message is a no-op."""
    try:
        webhooks_in.inbound_event_process(inbound_event_id=inbound_event_id)
    except TransientError as exc:
        raise self.retry(
            exc=exc,
            countdown=backoff_seconds(
                attempt=self.request.retries, retry_after=exc.retry_after
            ),
        )


@shared_task(
    name="payments.sweep_deliveries", bind=True, acks_late=True, ignore_result=True
)
def sweep_deliveries(self) -> None:
    """Re-enqueue what the database says is due: deliveries whose next attempt has
    come, inbound events stored but not processed. Lost messages only delay."""
    for delivery_id in selectors.webhook_delivery_ids_due(now=timezone.now()):
        deliver_webhook.delay(delivery_id)
    for event_id in selectors.inbound_event_ids_unprocessed(now=timezone.now()):
        process_inbound_event.delay(event_id)


@shared_task(
    name="payments.check_payment", bind=True, acks_late=True, ignore_result=True
)
def check_payment(self, payment_request_id: int) -> None:
    """Check one payment request with Bakong if it is still pending and due; a
    duplicate or late message is a no-op (the claim is a conditional update)."""
    try:
        polling.payment_request_check(payment_request_id=payment_request_id)
    except TransientError as exc:
        if self.request.retries >= POLL_MAX_RETRIES:
            # The row keeps its next_check_at: the beat's poller will look again.
            return
        # Never sooner than Retry-After, nor than the row's rescheduled check.
        countdown = max(
            backoff_seconds(attempt=self.request.retries, retry_after=exc.retry_after),
            polling.payment_request_due_in(payment_request_id=payment_request_id)
            or 0.0,
        )
        raise self.retry(exc=exc, countdown=countdown, max_retries=POLL_MAX_RETRIES)


@shared_task(name="payments.poll_due", bind=True, acks_late=True, ignore_result=True)
def poll_due(self) -> None:
    """One polling round over every due pending request (the beat runs it every
    few seconds; a failed round is simply the next round's work)."""
    polling.payments_poll_due()


@shared_task(name="payments.sweep", bind=True, acks_late=True, ignore_result=True)
def sweep(self) -> None:
    """Re-enqueue checks for every request the database says is overdue, and
    expire what is over: a lost message delays a payment, never loses it."""
    polling.payments_sweep()
