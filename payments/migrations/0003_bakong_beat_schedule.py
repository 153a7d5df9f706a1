"""The beat schedule for Bakong polling, as django-celery-beat rows admins can see
and change: one polling round every 5 seconds, the sweeper every minute. Messages
expire so a stopped worker does not come back to a pile of stale rounds."""

from django.db import migrations

TASKS = [
    # (name, task, every seconds, message expiry seconds)
    ("Bakong: poll due payments", "payments.poll_due", 5, 30),
    ("Bakong: sweep overdue payment checks", "payments.sweep", 60, 120),
]


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, every, expire in TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=every, period="seconds"
        )
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": interval,
                "enabled": True,
                "expire_seconds": expire,
                "description": "Tonle: learn from Bakong when KHQR payments are paid",
            },
        )
    # Tell a running beat that the schedule changed.
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_delivery_event_key"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
