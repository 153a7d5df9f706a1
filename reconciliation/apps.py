from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        # the apps below offer the places; this app fills them (never the
        # other way round: see DESIGN's layering rule)
        from merchants.dashboard import dashboard_widget_register
        from reconciliation.dashboard import (
            converted_total_widget,
            reconciliation_widget,
        )
        from reconciliation.documents.pack import reconciliation_pack_part
        from statements.services.packs import pack_part_register

        dashboard_widget_register(reconciliation_widget)
        dashboard_widget_register(converted_total_widget)
        pack_part_register(reconciliation_pack_part)
