from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from core.metrics import metric_source_register
        from payments.metrics import payment_metrics

        metric_source_register("payments", payment_metrics)
