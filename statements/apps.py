from django.apps import AppConfig


class StatementsConfig(AppConfig):
    name = "statements"

    def ready(self) -> None:
        from core.metrics import metric_source_register
        from statements.metrics import feed_metrics

        metric_source_register("statements", feed_metrics)
