from django.apps import apps
from django.db import transaction

from core.commands import JsonCommand
from core.fields import EncryptedJSONField


class Command(JsonCommand):
    help = (
        "Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEYS; "
        "afterwards the old keys can be removed."
    )

    def run(self, **options):
        rewritten = 0
        for model in apps.get_models():
            fields = [
                f.name for f in model._meta.fields if isinstance(f, EncryptedJSONField)
            ]
            if not fields:
                continue
            with transaction.atomic():
                for obj in model._base_manager.select_for_update().order_by("pk"):
                    obj.save(update_fields=fields)
                    rewritten += 1
        return {"rewritten": rewritten}
