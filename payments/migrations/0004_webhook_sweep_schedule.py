"""The beat row for the webhook sweeper: every minute it re-enqueues deliveries whose
next attempt has come and inbound events stored but not processed, so a lost task
message only delays a webhook."""

from django.db import migrations

NAME = "Webhooks: sweep due deliveries and unprocessed inbound events"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    interval, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "payments.sweep_deliveries",
            "interval": interval,
            "enabled": True,
            "expire_seconds": 120,
            "description": "Tonle: retry webhooks to shops, process stored inbound "
            "webhooks",
        },
    )
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_bakong_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
