import datetime as dt

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from payments import tasks
from payments.models import DeliveryStatus, InboundEvent
from tests.factories import ConnectionFactory
from tests.payments.makers import webhook_delivery_make


def test_sweeper_reenqueues_due_deliveries_and_stale_inbound_events(
    merchant, monkeypatch
):
    # given a due delivery, one not yet due, one delivered, and an inbound event
    # stored two minutes ago that no task processed
    due = webhook_delivery_make(merchant=merchant)
    webhook_delivery_make(
        merchant=merchant,
        status=DeliveryStatus.FAILED,
        next_attempt_at=timezone.now() + dt.timedelta(minutes=5),
    )
    webhook_delivery_make(merchant=merchant, status=DeliveryStatus.SUCCEEDED)
    connection = ConnectionFactory(merchant=merchant)
    stale = InboundEvent.objects.create(
        merchant=merchant,
        connection=connection,
        delivery_id="d-1",
        event_type="transaction.paid",
        raw_body="{}",
    )
    InboundEvent.objects.filter(pk=stale.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=2)
    )
    sent, processed = [], []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", sent.append)
    monkeypatch.setattr(tasks.process_inbound_event, "delay", processed.append)
    # when
    tasks.sweep_deliveries()
    # then only what is due goes out again
    assert sent == [due.pk]
    assert processed == [stale.pk]


def test_failed_attempt_schedules_the_next_one_from_the_row(merchant, monkeypatch):
    delivery = webhook_delivery_make(merchant=merchant)
    later = timezone.now() + dt.timedelta(seconds=30)

    def failed(*, delivery_id):
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, later
        return delivery

    scheduled = []
    monkeypatch.setattr(
        "payments.services.webhook_deliveries.webhook_delivery_attempt", failed
    )
    monkeypatch.setattr(
        tasks.deliver_webhook,
        "apply_async",
        lambda args, countdown: scheduled.append((args, round(countdown))),
    )
    tasks.deliver_webhook(delivery.pk)
    assert scheduled == [((delivery.pk,), 30)]


def test_the_sweeper_is_on_the_beat_schedule(db):
    task = PeriodicTask.objects.get(task="payments.sweep_deliveries")
    assert task.enabled
    assert task.interval.every == 60
