"""Tonle's beat schedule, declared once. The rows live in django-celery-beat's tables
(admins see them, one beat reads them); `beat_schedule_apply` makes the rows match
this list after every `migrate` (a post_migrate receiver), so a fresh database ends
with the full schedule and an existing one converges without duplicates.

Tasks are named by string, so core imports nothing from the apps that define them.
Routing to queues stays with Celery's settings, not the rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

logger = logging.getLogger("tonle.beat")


@dataclass(frozen=True)
class Every:
    every: int
    period: str = "seconds"  # django-celery-beat's: seconds, minutes, hours, days


@dataclass(frozen=True)
class Crontab:
    minute: str = "*"
    hour: str = "*"
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"
    timezone: str = "Asia/Phnom_Penh"


@dataclass(frozen=True)
class PeriodicTaskSpec:
    name: str  # the row's unique name: how a row is recognised again
    task: str
    schedule: Every | Crontab
    expire_seconds: int  # a message older than this is dropped, not run late
    description: str


BAKONG = "Tonle: learn from Bakong when KHQR payments are paid"

SCHEDULE: tuple[PeriodicTaskSpec, ...] = (
    PeriodicTaskSpec(
        "Bakong: poll due payments", "payments.poll_due", Every(5), 30, BAKONG
    ),
    PeriodicTaskSpec(
        "Bakong: sweep overdue payment checks", "payments.sweep", Every(60), 120, BAKONG
    ),
    PeriodicTaskSpec(
        "Webhooks: sweep due deliveries and unprocessed inbound events",
        "payments.sweep_deliveries",
        Every(60),
        120,
        "Tonle: retry webhooks to shops, process stored inbound webhooks",
    ),
    PeriodicTaskSpec(
        # hourly at :20; each feed is synced once a night, failures retried hourly
        "Statement feeds: nightly sync (hourly sweeper)",
        "statements.sync_due",
        Crontab(minute="20"),
        3000,
        "Tonle: pull bank statement feeds into the ledger",
    ),
    PeriodicTaskSpec(
        "Statement packs: sweeper",
        "statements.sweep_packs",
        Every(5, "minutes"),
        240,
        "Tonle: finish statement packs whose task was lost",
    ),
    PeriodicTaskSpec(
        # after the feeds' nightly sync (from 01:20): each merchant's open month
        "Reconciliation: nightly run",
        "reconciliation.reconcile_nightly",
        Crontab(minute="0", hour="3"),
        4 * 3600,
        "Tonle: reconcile every active merchant's open month",
    ),
    PeriodicTaskSpec(
        # /readyz reads the stamp: a silent beat takes the service out of rotation
        "Beat: heartbeat",
        "core.beat_tick",
        Every(30),
        30,
        "Tonle: the beat and a polling worker are alive (read by /readyz)",
    ),
)


def _schedule_row(apps: Any, schedule: Every | Crontab, using: str) -> Any:
    if isinstance(schedule, Every):
        model = apps.get_model("django_celery_beat", "IntervalSchedule")
        lookup = {"every": schedule.every, "period": schedule.period}
    else:
        model = apps.get_model("django_celery_beat", "CrontabSchedule")
        lookup = {
            "minute": schedule.minute,
            "hour": schedule.hour,
            "day_of_week": schedule.day_of_week,
            "day_of_month": schedule.day_of_month,
            "month_of_year": schedule.month_of_year,
            "timezone": schedule.timezone,
        }
    # no unique constraint on these tables: an admin may have made a twin
    row = model.objects.using(using).filter(**lookup).order_by("pk").first()
    return row or model.objects.using(using).create(**lookup)


def beat_schedule_apply(
    *, apps: Any = global_apps, using: str = DEFAULT_DB_ALIAS
) -> int:
    """Make the beat rows match SCHEDULE: create the missing ones, correct the task,
    schedule, expiry and description of the others (an admin's enabled / disabled
    is kept), leave rows not in the list alone. Returns how many rows changed: a
    second run changes nothing and returns 0."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    changed = 0
    with transaction.atomic(using=using):
        for spec in SCHEDULE:
            schedule = _schedule_row(apps, spec.schedule, using)
            wanted = {
                "task": spec.task,
                "interval": schedule if isinstance(spec.schedule, Every) else None,
                "crontab": schedule if isinstance(spec.schedule, Crontab) else None,
                "expire_seconds": spec.expire_seconds,
                "description": spec.description,
            }
            row = PeriodicTask.objects.using(using).filter(name=spec.name).first()
            if row is None:
                PeriodicTask.objects.using(using).create(
                    name=spec.name, enabled=True, **wanted
                )
                changed += 1
                continue
            stale = {k: v for k, v in wanted.items() if getattr(row, k) != v}
            if stale:
                for key, value in stale.items():
                    setattr(row, key, value)
                row.save(update_fields=[*stale, "date_changed"])
                changed += 1
        if changed:
            # tells a running beat to reload its schedule
            PeriodicTasks.objects.using(using).update_or_create(
                ident=1, defaults={"last_update": timezone.now()}
            )
    if changed:
        logger.info("beat.schedule.applied", extra={"changed": changed})
    return changed


def beat_schedule_post_migrate(
    sender: Any, *, apps: Any = global_apps, using: str = DEFAULT_DB_ALIAS, **kwargs
) -> None:
    """post_migrate receiver (sent once django-celery-beat's tables exist)."""
    try:
        apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:
        return  # a partial migrate that stopped before django-celery-beat's tables
    beat_schedule_apply(apps=apps, using=using)
