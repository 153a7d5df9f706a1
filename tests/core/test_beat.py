"""The beat schedule is declared once (core/beat.py) and applied after migrate."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command
from django_celery_beat.models import (
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
)

from core.beat import SCHEDULE, beat_schedule_apply

REPO = Path(__file__).resolve().parents[2]
TASK_NAMES = {
    "payments.poll_due",
    "payments.sweep",
    "payments.sweep_deliveries",
    "statements.sync_due",
    "statements.sweep_packs",
    "reconciliation.reconcile_nightly",
    "core.beat_tick",
}


def _rows() -> list[tuple]:
    return list(
        PeriodicTask.objects.order_by("name").values_list(
            "name",
            "task",
            "interval_id",
            "crontab_id",
            "enabled",
            "expire_seconds",
            "description",
            "date_changed",
        )
    )


def test_after_migrate_exactly_the_declared_tasks_exist_once_each(db):
    # given the test database, made by `migrate`
    # then each declared row is there once, and nothing else
    names = list(PeriodicTask.objects.values_list("name", flat=True))
    assert sorted(names) == sorted(spec.name for spec in SCHEDULE)
    assert set(PeriodicTask.objects.values_list("task", flat=True)) == TASK_NAMES
    assert PeriodicTask.objects.count() == len(TASK_NAMES)


def test_applying_the_schedule_twice_changes_nothing(db):
    # given the schedule as migrate left it, and a beat that has seen it
    before, stamp = _rows(), PeriodicTasks.objects.get(ident=1).last_update
    schedules = (IntervalSchedule.objects.count(), CrontabSchedule.objects.count())
    # when it is applied again, twice
    first, second = beat_schedule_apply(), beat_schedule_apply()
    # then no row, schedule or change stamp moved
    assert (first, second) == (0, 0)
    assert _rows() == before
    assert PeriodicTasks.objects.get(ident=1).last_update == stamp
    assert (
        IntervalSchedule.objects.count(),
        CrontabSchedule.objects.count(),
    ) == schedules


def test_a_drifted_row_is_corrected_in_place_and_the_beat_told(db):
    # given a database whose poller row says 30 s (an older declaration)
    slow, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.filter(task="payments.poll_due").update(
        interval=slow, description="old"
    )
    stamp = PeriodicTasks.objects.get(ident=1).last_update
    # when
    changed = beat_schedule_apply()
    # then the same row (no twin) polls every 5 s again
    assert changed == 1
    (row,) = PeriodicTask.objects.filter(task="payments.poll_due")
    assert (row.interval.every, row.interval.period) == (5, "seconds")
    assert row.description != "old"
    assert PeriodicTasks.objects.get(ident=1).last_update > stamp


def test_a_task_an_admin_disabled_stays_disabled(db):
    PeriodicTask.objects.filter(task="statements.sync_due").update(enabled=False)
    assert beat_schedule_apply() == 0
    assert PeriodicTask.objects.get(task="statements.sync_due").enabled is False


def test_a_missing_row_comes_back_and_other_rows_are_left_alone(db):
    # given an admin's own periodic task, and a Tonle row someone deleted
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.create(name="Admin: cleanup", task="x.cleanup", interval=every)
    PeriodicTask.objects.filter(task="statements.sweep_packs").delete()
    # when
    assert beat_schedule_apply() == 1
    # then
    assert PeriodicTask.objects.filter(task="statements.sweep_packs").count() == 1
    assert PeriodicTask.objects.filter(name="Admin: cleanup").exists()


def test_the_rows_come_back_after_a_flush(db):
    # given (a transactional test's teardown flushes every table)
    PeriodicTask.objects.all().delete()
    # when flush sends post_migrate
    call_command("flush", interactive=False, verbosity=0)
    # then
    assert set(PeriodicTask.objects.values_list("task", flat=True)) == TASK_NAMES


def test_a_fresh_migrate_ends_with_the_full_schedule_once(tmp_path):
    # given an empty SQLite database
    database = tmp_path / "fresh.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    # when it is migrated, then migrated again (nothing left to apply)
    for _ in range(2):
        done = subprocess.run(
            migrate, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
    # then every declared task is there exactly once
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT task, COUNT(*) FROM django_celery_beat_periodictask GROUP BY task"
        ).fetchall()
    assert dict(rows) == dict.fromkeys(TASK_NAMES, 1)


def test_no_migration_writes_beat_rows_of_its_own():
    # the schedule has one writer, core.beat (the old copies are empty now)
    writers = [
        str(path.relative_to(REPO))
        for path in REPO.glob("*/migrations/*.py")
        if "PeriodicTask" in path.read_text()
    ]
    assert writers == []


def test_the_nightly_reconciliation_runs_at_three_local_after_the_feeds_sync(db):
    # given the schedule as migrate left it
    row = PeriodicTask.objects.get(task="reconciliation.reconcile_nightly")
    feeds = PeriodicTask.objects.get(task="statements.sync_due")
    # then it runs once a day at 03:00 Phnom Penh, after the 01:20 feed sync
    assert (row.crontab.minute, row.crontab.hour) == ("0", "3")
    assert (row.crontab.day_of_week, row.crontab.day_of_month) == ("*", "*")
    assert str(row.crontab.timezone) == "Asia/Phnom_Penh"
    assert feeds.crontab.minute == "20" and feeds.crontab.hour == "*"
    assert row.interval is None and row.enabled


def test_the_heartbeat_ticks_every_30_seconds_and_expires_unrun(db):
    # given
    row = PeriodicTask.objects.get(task="core.beat_tick")
    # then a tick is sent every 30 s and dropped if not run within 30 s
    assert (row.interval.every, row.interval.period) == (30, "seconds")
    assert row.expire_seconds == 30
