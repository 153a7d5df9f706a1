from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Tonle core"

    def ready(self) -> None:
        from core import checks  # noqa: F401  (registers system checks)
        from core.beat import beat_schedule_post_migrate

        # once per migrate (and per test-database flush): sent for each app with
        # models, and django-celery-beat's is the one whose tables the rows need
        post_migrate.connect(
            beat_schedule_post_migrate,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="tonle.beat_schedule",
        )
