from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "merchants"

    def ready(self) -> None:
        from merchants import auth_audit

        auth_audit.connect()

        from django.contrib.auth.signals import user_logged_in

        from merchants.user_language import remember_on_login

        user_logged_in.connect(remember_on_login, dispatch_uid="tonle-user-language")
