"""The beat row for statement feeds: `statements.sync_due` every hour at :20. It
enqueues each feed connection once a night (after 01:00 Phnom Penh) and re-enqueues
any that failed or whose message was lost, so it is also the sweeper."""

from django.db import migrations

NAME = "Statement feeds: nightly sync (hourly sweeper)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="20",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Phnom_Penh",
    )
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "statements.sync_due",
            "crontab": crontab,
            "interval": None,
            "enabled": True,
            "expire_seconds": 3000,
            "description": "Tonle: pull bank statement feeds into the ledger",
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
        ("statements", "0003_documents_statement_pack"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
