"""Celery queues by kind: payment checks and webhooks never wait behind a report or
a reconciliation, and one worker without -Q still does everything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app
from core.beat import SCHEDULE
from payments.tasks import WEBHOOK_COUNTDOWN_MAX_SECONDS
from tests.core.settings_from_env import settings_from_env

REPO = Path(__file__).resolve().parents[2]
QUEUES = {"polling", "webhooks", "feeds", "reports", "reconciliation"}
PAYMENT_CHECKS = {"payments.check_payment", "payments.poll_due", "payments.sweep"}
WEBHOOKS = {
    "payments.deliver_webhook",
    "payments.process_inbound_event",
    "payments.sweep_deliveries",
}
SLOW = {
    "statements.build_pack",
    "statements.sweep_packs",
    "reconciliation.reconcile_merchant",
    "reconciliation.reconcile_nightly",
}


def _tonle_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def _queue(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_every_tonle_task_goes_to_one_of_the_five_queues():
    # given every task the app registers (payments, statements, reconciliation, core)
    names = _tonle_tasks()
    assert {"payments.check_payment", "reconciliation.reconcile_merchant"} <= set(names)
    # then each is routed to one of the five kinds, none to the catch-all
    unrouted = {name: _queue(name) for name in names if _queue(name) not in QUEUES}
    assert unrouted == {}


def test_payment_checks_and_webhooks_never_share_a_queue_with_slow_work():
    # when
    fast = {_queue(name) for name in PAYMENT_CHECKS | WEBHOOKS}
    slow = {_queue(name) for name in SLOW}
    # then
    assert fast.isdisjoint(slow), (fast, slow)
    assert {_queue(name) for name in PAYMENT_CHECKS} == {"polling"}
    assert {_queue(name) for name in WEBHOOKS} == {"webhooks"}
    assert _queue("statements.sync_connection") == "feeds"


def test_every_scheduled_task_exists_and_is_routed():
    # given the beat schedule
    names = set(_tonle_tasks())
    for spec in SCHEDULE:
        # then the beat sends nothing a worker would not know, or no queue would hold
        assert spec.task in names, spec.task
        assert _queue(spec.task) in QUEUES, spec.task


def test_a_worker_started_without_q_consumes_every_queue():
    # given the queues a worker consumes when none is named (the embedded default)
    declared = set(app.amqp.queues)
    # then it serves all five kinds and Celery's own
    assert declared == QUEUES | {"celery"}
    assert set(settings.TONLE_QUEUES) == QUEUES


def test_make_run_starts_one_worker_that_consumes_every_queue():
    # given the Makefile's worker line
    text = (REPO / "Makefile").read_text()
    (line,) = [line for line in text.splitlines() if "celery -A config worker" in line]
    # then it names no queue (so it takes them all) or names every one of them
    named = re.search(r"(?:-Q|--queues)[= ]([\w,]+)", line)
    if named:
        assert set(named.group(1).split(",")) >= QUEUES | {"celery"}


def test_redis_gives_unacked_work_back_only_after_the_longest_task_and_countdown(
    monkeypatch,
):
    # given production's broker
    conf = settings_from_env(monkeypatch, CELERY_BROKER_URL="redis://127.0.0.1/1")
    timeout = conf["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"]
    # and the longest time a worker may hold a message before it acks it
    hard_limits = [
        app.tasks[name].time_limit or conf["CELERY_TASK_TIME_LIMIT"]
        for name in _tonle_tasks()
    ]
    # then a running or counting-down task is never handed to a second worker
    assert timeout > WEBHOOK_COUNTDOWN_MAX_SECONDS + max(hard_limits)


@pytest.mark.parametrize(
    ("url", "options", "expected"),
    [
        ("redis://127.0.0.1/1", '{"visibility_timeout": 5}', {"visibility_timeout": 5}),
        (
            "sentinel://sentinel-a:26379;sentinel://sentinel-b:26379",
            '{"master_name": "tonle"}',
            {"visibility_timeout": 7200, "master_name": "tonle"},
        ),
    ],
)
def test_redis_transport_options_are_tuned_from_the_environment(
    monkeypatch, url, options, expected
):
    # when
    conf = settings_from_env(
        monkeypatch, CELERY_BROKER_URL=url, CELERY_BROKER_TRANSPORT_OPTIONS=options
    )
    # then
    assert conf["CELERY_BROKER_TRANSPORT_OPTIONS"] == expected
