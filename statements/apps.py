from django.apps import AppConfig


class StatementsConfig(AppConfig):
    name = "statements"

    def ready(self) -> None:
        # payments offers these places and never imports statements
        from payments import hooks
        from statements.services.bakong_lines import bakong_line_post
        from statements.services.push import transaction_posted_receive

        hooks.bakong_transaction_recorded_connect(bakong_line_post)
        hooks.inbound_event_handler_register(
            "transaction.posted", transaction_posted_receive
        )
        from core.metrics import metric_source_register
        from statements.metrics import feed_metrics

        metric_source_register("statements", feed_metrics)
        from merchants.dashboard import dashboard_widget_register
        from statements.dashboard import ledger_charts_widget

        dashboard_widget_register(ledger_charts_widget)
