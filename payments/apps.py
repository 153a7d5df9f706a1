from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from core.metrics import metric_source_register
        from merchants.dashboard import dashboard_widget_register
        from payments.dashboard import khqr_widget
        from payments.metrics import payment_metrics

        metric_source_register("payments", payment_metrics)
        dashboard_widget_register(khqr_widget)
