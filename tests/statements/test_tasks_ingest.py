"""The nightly feed job: which connections are due, and that it enqueues them on the
broker (ids only); the beat row exists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from freezegun import freeze_time

from statements import tasks
from statements.services.feed_sync import feed_connection_ids_due
from tests.factories import AccountFactory, ConnectionFactory

pytestmark = pytest.mark.django_db

PP = dt.timezone(dt.timedelta(hours=7))


def feed_connection(merchant, **fields):
    account = AccountFactory(merchant=merchant)
    return ConnectionFactory(account=account, merchant=merchant, **fields)


@freeze_time("2026-04-10 02:00:00+07:00")
def test_due_connections_are_those_not_synced_since_last_nights_one_oclock(merchant):
    # given connections synced at various times (now is 02:00 Phnom Penh)
    never = feed_connection(merchant)
    yesterday = feed_connection(
        merchant,
        last_sync_at=dt.datetime(2026, 4, 9, 23, 30, tzinfo=PP),
        last_sync_status="ok",
    )
    tonight = feed_connection(
        merchant,
        last_sync_at=dt.datetime(2026, 4, 10, 1, 15, tzinfo=PP),
        last_sync_status="ok",
    )
    failed_tonight = feed_connection(
        merchant,
        last_sync_at=dt.datetime(2026, 4, 10, 1, 30, tzinfo=PP),
        last_sync_status="failed",
    )
    revoked = feed_connection(merchant, revoked_at=timezone.now())
    bakong = feed_connection(merchant, provider="bakong")
    # when
    due = feed_connection_ids_due(nightly_hour=1)
    # then
    assert due == [never.pk, yesterday.pk, failed_tonight.pk]
    assert tonight.pk not in due and revoked.pk not in due and bakong.pk not in due


@freeze_time("2026-04-10 00:30:00+07:00")
def test_before_one_oclock_the_previous_nights_cutoff_applies(merchant):
    # given a connection synced at 23:30 yesterday (after the 01:00 of yesterday)
    conn = feed_connection(
        merchant,
        last_sync_at=dt.datetime(2026, 4, 9, 23, 30, tzinfo=PP),
        last_sync_status="ok",
    )
    # when / then
    assert feed_connection_ids_due(nightly_hour=1) == []
    assert conn.pk


def test_sync_due_enqueues_each_due_connection_by_id(merchant, monkeypatch):
    # given two never-synced connections
    a = feed_connection(merchant)
    b = feed_connection(merchant)
    sent = []
    monkeypatch.setattr(tasks.sync_connection, "delay", lambda pk: sent.append(pk))
    # when
    tasks.sync_due.apply()
    # then
    assert sent == [a.pk, b.pk]


def test_a_connection_already_syncing_is_not_synced_twice(merchant, monkeypatch):
    # given the lock held by another worker
    from django.core.cache import cache

    conn = feed_connection(merchant)
    cache.add(f"statements.sync.{conn.pk}", "other-worker", 60)
    calls = []
    monkeypatch.setattr(
        "statements.services.feed_sync.statement_feed_sync",
        lambda **kwargs: calls.append(kwargs),
    )
    # when
    tasks.sync_connection.apply(args=(conn.pk,))
    # then
    assert calls == []


def test_the_nightly_beat_row_exists():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="statements.sync_due")
    assert task.enabled and task.crontab.minute == "20"
