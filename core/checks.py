from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def encryption_keys_configured(app_configs, **kwargs):
    if settings.FIELD_ENCRYPTION_KEYS:
        return []
    return [
        Error(
            "FIELD_ENCRYPTION_KEYS is not set: bank tokens and webhook secrets "
            "would be "
            "encrypted with a key derived from SECRET_KEY.",
            hint="python manage.py generate_encryption_key",
            id="tonle.E001",
        )
    ]


@register(Tags.security, deploy=True)
def sandbox_disabled(app_configs, **kwargs):
    if not settings.SANDBOX_ENABLED:
        return []
    return [
        Warning(
            "SANDBOX_ENABLED is on: the fake Bakong and bank feed are mounted.",
            id="tonle.W001",
        )
    ]


@register(Tags.security, deploy=True)
def webhook_private_addresses_refused(app_configs, **kwargs):
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return []
    return [
        Warning(
            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on: merchants' webhook URLs may "
            "reach loopback, private and cloud metadata addresses.",
            hint="Unset it outside local testing.",
            id="tonle.W002",
        )
    ]
