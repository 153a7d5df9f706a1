"""Keys that could do everything before `invoices:write` existed can send
invoices too; a key an owner limited stays limited."""

from django.db import migrations

EVERY_SCOPE_BEFORE = {"qr:write", "payments:read", "statements:read", "reconciliation:read"}


def grant(apps, schema_editor):
    ApiKey = apps.get_model("merchants", "ApiKey")
    for key in ApiKey.objects.all().only("pk", "scopes"):
        scopes = set(key.scopes or [])
        if EVERY_SCOPE_BEFORE <= scopes and "invoices:write" not in scopes:
            key.scopes = [*key.scopes, "invoices:write"]
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("merchants", "0004_api_key_scopes_and_expiry")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
