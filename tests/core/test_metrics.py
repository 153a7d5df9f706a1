"""/metrics: Prometheus text computed at scrape time from the database and the
broker, behind a bearer token (off without one)."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
import redis
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app
from core.heartbeat import beat_tick_record
from merchants.models import SyncStatus
from payments.models import DeliveryStatus, PaymentStatus
from tests.factories import ConnectionFactory
from tests.payments.makers import webhook_delivery_make
from tests.payments.payment_helpers import pending_request

TOKEN = "scrape-me-0123456789"
NOON = dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.UTC)
REDIS = os.environ.get("CELERY_BROKER_URL", "").startswith("redis")


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def _scrape() -> dict[tuple[str, tuple], float]:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_do_not_exist_without_a_token(db, settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
def test_metrics_refuse_a_missing_or_wrong_token(db, metrics_on, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"tonle_" not in response.content


def test_poll_lag_is_the_wait_of_the_most_overdue_check(db, metrics_on, merchant):
    # given at noon: two checks due (90 s and 10 s ago), one due later, one paid
    with freeze_time(NOON):
        now = timezone.now()
        pending_request(merchant, next_check_at=now - dt.timedelta(seconds=90))
        pending_request(merchant, next_check_at=now - dt.timedelta(seconds=10))
        pending_request(merchant, next_check_at=now + dt.timedelta(seconds=30))
        paid = pending_request(merchant, next_check_at=now - dt.timedelta(hours=1))
        paid.status = PaymentStatus.PAID
        paid.save(update_fields=["status"])
        # when
        samples = _scrape()
    # then
    assert samples[("tonle_payment_checks_due", ())] == 2
    assert samples[("tonle_poll_lag_seconds", ())] == 90


def test_nothing_due_means_no_lag(db, metrics_on):
    samples = _scrape()
    assert samples[("tonle_payment_checks_due", ())] == 0
    assert samples[("tonle_poll_lag_seconds", ())] == 0


def test_webhook_failures_are_counted_by_status(db, metrics_on, merchant):
    # given deliveries: two failed (retrying), one dead, one delivered
    for status in ["failed", "failed", "dead", "succeeded"]:
        webhook_delivery_make(merchant=merchant, status=DeliveryStatus(status))
    # when
    samples = _scrape()
    # then
    delivered = "tonle_webhook_deliveries"
    assert samples[(delivered, (("status", "failed"),))] == 2
    assert samples[(delivered, (("status", "dead"),))] == 1
    assert samples[(delivered, (("status", "pending"),))] == 0
    assert (delivered, (("status", "succeeded"),)) not in samples


def test_sync_age_is_that_of_the_stalest_active_feed(db, metrics_on):
    # given at noon: feeds synced 2 h and 30 min ago, one never, one revoked (old)
    with freeze_time(NOON):
        now = timezone.now()
        ConnectionFactory(last_sync_at=now - dt.timedelta(hours=2))
        ConnectionFactory(
            last_sync_at=now - dt.timedelta(minutes=30),
            last_sync_status=SyncStatus.FAILED,
        )
        ConnectionFactory(last_sync_at=None)
        ConnectionFactory(last_sync_at=now - dt.timedelta(days=9), revoked_at=now)
        # when
        samples = _scrape()
    # then
    assert samples[("tonle_feed_sync_age_seconds", ())] == 2 * 3600
    assert samples[("tonle_feed_connections_never_synced", ())] == 1
    assert samples[("tonle_feed_connections_failed", ())] == 1


def test_beat_tick_age_is_exposed(db, metrics_on):
    with freeze_time(NOON):
        beat_tick_record()
    with freeze_time(NOON + dt.timedelta(seconds=45)):
        samples = _scrape()
    assert samples[("tonle_beat_tick_age_seconds", ())] == 45


def _publish(url: str, options: dict, task: str, times: int, **kwargs) -> None:
    with Connection(url, transport_options=options) as connection:
        for n in range(times):
            app.send_task(task, args=[n], connection=connection, **kwargs)


@pytest.fixture
def not_eager():
    # send_task always publishes; say so, instead of warning that eager is ignored
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_queue_length_counts_each_queues_waiting_messages_on_the_filesystem(
    db, metrics_on, settings, tmp_path, not_eager
):
    # given a filesystem broker with 3 payment checks and 1 pack waiting
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    _publish("filesystem://", options, "payments.check_payment", 3)
    _publish("filesystem://", options, "statements.build_pack", 1)
    # when
    samples = _scrape()
    # then
    depth = "tonle_celery_queue_length"
    assert samples[(depth, (("queue", "polling"),))] == 3
    assert samples[(depth, (("queue", "reports"),))] == 1
    assert samples[(depth, (("queue", "webhooks"),))] == 0
    assert samples[("tonle_metrics_source_up", (("source", "broker"),))] == 1


if REDIS:

    def test_queue_length_counts_each_queues_waiting_messages_on_redis(
        db, metrics_on, settings, not_eager
    ):
        # given this suite's Redis, under a key prefix of this test's own, with 2
        # webhooks waiting (one with a priority: kombu keeps it under another key)
        url = os.environ["CELERY_BROKER_URL"]
        options = {"global_keyprefix": f"tonle-test-{uuid.uuid4().hex}:"}
        settings.CELERY_BROKER_URL = url
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
        _publish(url, options, "payments.deliver_webhook", 1)
        _publish(url, options, "payments.deliver_webhook", 1, priority=5)
        try:
            # when
            samples = _scrape()
        finally:
            client = redis.Redis.from_url(url)
            for key in client.scan_iter(f"{options['global_keyprefix']}*"):
                client.delete(key)
        # then
        depth = "tonle_celery_queue_length"
        assert samples[(depth, (("queue", "webhooks"),))] == 2
        assert samples[(depth, (("queue", "polling"),))] == 0


def test_a_failing_source_is_reported_and_the_others_still_answer(
    db, metrics_on, settings
):
    # given a broker that refuses connections
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    # when
    samples = _scrape()
    # then
    assert samples[("tonle_metrics_source_up", (("source", "broker"),))] == 0
    assert samples[("tonle_metrics_source_up", (("source", "payments"),))] == 1
    assert ("tonle_payment_checks_due", ()) in samples


def test_a_scrape_costs_the_same_few_queries_however_many_rows(
    db, metrics_on, merchant, django_assert_max_num_queries
):
    # given many due checks, deliveries and feeds
    for _ in range(20):
        pending_request(merchant)
        webhook_delivery_make(merchant=merchant, status=DeliveryStatus.FAILED)
        ConnectionFactory()
    # then one aggregate per gauge group
    with django_assert_max_num_queries(4):
        _scrape()
