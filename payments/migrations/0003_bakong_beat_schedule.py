"""Once wrote the Bakong polling rows of the beat schedule. The schedule is now declared once
in core/beat.py and applied after every migrate (a post_migrate receiver), so this
migration does nothing; it stays for the migration history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_delivery_event_key"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = []
