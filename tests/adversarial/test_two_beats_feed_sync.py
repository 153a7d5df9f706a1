"""Two beats at once send the hourly feed sync twice: both rounds enqueue every
due connection, and two workers take the two messages for one connection at the
same moment. The guard is a lock in the shared cache (`cache.add`, atomic on
Redis, the production cache): here a real redis-server of the test's own. The
bank's feed is asked once, and the lock is let go when the sync ends."""

from __future__ import annotations

import threading

import pytest

from statements import tasks
from statements.services import feed_sync
from tests.adversarial.private_redis import private_redis_running
from tests.factories import AccountFactory, ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(tmp_path, settings):
    with private_redis_running(tmp_path) as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": server.url,
            }
        }
        yield server


def test_two_beats_syncing_one_feed_at_once_ask_the_bank_once(
    merchant, redis_cache, monkeypatch
):
    # given a feed connection due tonight, and both beats' rounds sent
    connection = ConnectionFactory(
        account=AccountFactory(merchant=merchant), merchant=merchant
    )
    sent: list[int] = []
    monkeypatch.setattr(tasks.sync_connection, "delay", lambda pk: sent.append(pk))
    tasks.sync_due.apply()
    tasks.sync_due.apply()
    assert sent == [connection.pk, connection.pk]
    # and a sync that holds on while it talks to the bank
    asked, release = threading.Event(), threading.Event()
    syncs: list[int] = []

    def slow_sync(*, connection_id: int) -> None:
        syncs.append(connection_id)
        asked.set()
        assert release.wait(timeout=30)

    monkeypatch.setattr(feed_sync, "statement_feed_sync", slow_sync)
    # when the first worker is inside its sync and the second takes its message
    first = threading.Thread(
        target=lambda: tasks.sync_connection.apply(args=(sent[0],)).get()
    )
    first.start()
    assert asked.wait(timeout=30), "the first sync never started"
    tasks.sync_connection.apply(args=(sent[1],)).get()
    release.set()
    first.join(timeout=30)
    # then the bank was asked once
    assert syncs == [connection.pk]
    # and once that sync is over, the next night's sync runs again
    tasks.sync_connection.apply(args=(connection.pk,)).get()
    assert syncs == [connection.pk, connection.pk]
