"""Redis, the broker, stops while shops create payment codes: a PRIVATE
redis-server started for this test (the shared one on 6379 is never touched) is
killed between creates. Every create still answers 201 and is in the database;
the check messages that were in Redis are lost with it; once Redis is back, one
run of the sweeper enqueues every pending code's check, each exactly once."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections import Counter

import kombu.pools
import pytest
from django.core.cache import cache
from django.utils import timezone

from config.celery import app
from payments.models import PaymentRequest, PaymentStatus
from payments.services.polling import payments_sweep
from tests.adversarial.private_redis import PrivateRedis, private_redis_running

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]


def _point_celery_at(url: str | None, saved: dict) -> None:
    """Send tasks to `url` (None: back to what the settings said); the app's
    connection pools are dropped so the next send opens a new connection."""
    conf = app.conf
    if url is None:
        for key, value in saved.items():
            conf[key] = value
    else:
        saved.update(
            {
                key: conf[key]
                for key in (
                    "broker_url",
                    "broker_write_url",
                    "broker_transport",
                    "broker_transport_options",
                    "task_always_eager",
                )
            }
        )
        conf.broker_url = url
        conf.broker_write_url = url
        conf.broker_transport = None
        conf.broker_transport_options = {}
        app.conf.task_always_eager = False
    # app._pool is kombu's process-wide pool for that broker: closing it alone
    # leaves a closed pool that the next send to the same broker is handed back
    # ("Acquire on closed pool" in whichever test comes next); reset drops them all
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def private_redis(tmp_path, settings):
    saved: dict = {}
    settings.API_RATE_LIMIT_PER_MINUTE = 100_000
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"  # no deeplink look-ups
    cache.clear()
    with private_redis_running(tmp_path) as server:
        _point_celery_at(server.url, saved)
        try:
            yield server
        finally:
            _point_celery_at(None, saved)


def _queued_checks(server: PrivateRedis) -> Counter:
    """payment ids of the check_payment messages waiting in the polling queue."""
    client = server.client()
    found: Counter = Counter()
    for key in client.keys("polling*"):
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] != "payments.check_payment":
                continue
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found[args[0]] += 1
    return found


def _create(api_client, order_id: str) -> int:
    response = api_client.post(
        "/api/v1/qr",
        {"amount": "5.00", "currency": "USD", "order_id": order_id},
        format="json",
    )
    assert response.status_code == 201, response.content
    return PaymentRequest.objects.get(order_id=order_id).pk


def test_codes_created_while_redis_is_down_are_kept_and_swept_once_it_is_back(
    api_client, private_redis, caplog
):
    # given three codes created while Redis is up: each check is queued
    before = [_create(api_client, f"UP-{n}") for n in range(3)]
    assert _queued_checks(private_redis) == Counter(before)

    # when Redis dies (and the messages it held with it)
    private_redis.kill()
    # then shops still get their codes, and the failed sends are logged
    during = [_create(api_client, f"DOWN-{n}") for n in range(3)]
    failed = [r for r in caplog.records if r.getMessage() == "tasks.enqueue_failed"]
    assert len(failed) == len(during)
    # and nothing is lost in the database
    pending = set(
        PaymentRequest.objects.filter(status=PaymentStatus.PENDING).values_list(
            "pk", flat=True
        )
    )
    assert pending == set(before + during)

    # when Redis is back (empty) and the sweeper runs once they are overdue
    private_redis.start()
    assert _queued_checks(private_redis) == Counter()
    swept = payments_sweep(now=timezone.now() + dt.timedelta(minutes=1))
    # then every pending code has its check queued, exactly once
    assert sorted(swept) == sorted(pending)
    assert _queued_checks(private_redis) == Counter(pending)
